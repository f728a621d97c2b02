-- A table without 'connector'.
-- kind: ConnectorError
-- error: has no 'connector' option
-- error: Hint: add WITH ('connector' = 'filesystem', ...)
CREATE TABLE t (a INT) WITH ('path' = '/tmp/t', 'format' = 'csv');
SELECT * FROM t;
