-- A json.* option on a csv table.
-- kind: ConnectorError
-- error: Connector error: Unsupported option 'json.ignore-parse-errors' for connector 'filesystem' with format 'csv'
CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders.csv', 'format' = 'csv', 'json.ignore-parse-errors' = 'true');
SELECT * FROM t;
