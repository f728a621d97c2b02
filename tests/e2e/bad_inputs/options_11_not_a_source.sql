-- Reading from a sink-only connector.
-- kind: ConnectorError
-- error: Connector error: connector 'print' cannot be read as a source
CREATE TABLE t (a INT) WITH ('connector' = 'print');
SELECT * FROM t;
