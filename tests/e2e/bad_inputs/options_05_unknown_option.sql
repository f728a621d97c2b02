-- A misspelled option; the hint lists the valid ones, closest first.
-- kind: ConnectorError
-- error: Connector error: Unsupported option 'pth' for connector 'filesystem'
-- error: Hint: Supported options: path, 
-- cli
CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'pth' = '/tmp/t', 'format' = 'csv');
SELECT * FROM t;
