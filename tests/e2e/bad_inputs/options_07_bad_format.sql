-- A format the filesystem connector does not have.
-- kind: ConnectorError
-- error: Connector error: Invalid value 'xml' for option 'format' of connector 'filesystem': expected one of 'csv', 'json', 'parquet'
CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders.csv', 'format' = 'xml');
SELECT * FROM t;
