-- A filesystem path that does not exist.
-- kind: ConnectorError
-- error: Connector error: Path '${DATA}/nope.csv' does not exist
-- cli
CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'path' = '${DATA}/nope.csv', 'format' = 'csv');
SELECT * FROM t;
