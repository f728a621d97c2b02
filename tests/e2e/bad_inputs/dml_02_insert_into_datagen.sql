-- INSERT INTO a source-only connector.
-- kind: ConnectorError
-- error: Connector error: connector 'datagen' cannot be written as a sink
INSERT INTO clicks SELECT id, name, CAST(NULL AS TIMESTAMP(3)) FROM orders;
