-- A filesystem table without 'format'.
-- kind: ConnectorError
-- error: Connector error: Missing required option 'format' for connector 'filesystem'
CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders.csv');
SELECT * FROM t;
