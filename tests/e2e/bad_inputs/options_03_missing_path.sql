-- A filesystem table without 'path'.
-- kind: ConnectorError
-- error: Connector error: Missing required option 'path' for connector 'filesystem'
-- error: Hint: Required options: path, format.
CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'format' = 'csv');
SELECT * FROM t;
