-- A misspelled connector (CREATE TABLE records options; the first query validates them).
-- kind: ConnectorError
-- error: Connector error: Unknown connector 'filesytem'
-- error: Hint: Did you mean 'filesystem'? Available connectors: blackhole, datagen, filesystem, kafka, nexmark, print
-- cli
CREATE TABLE t (a INT) WITH ('connector' = 'filesytem', 'path' = '/tmp/t', 'format' = 'csv');
SELECT * FROM t;
