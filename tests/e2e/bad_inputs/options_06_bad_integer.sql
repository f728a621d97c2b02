-- An option that must be an integer.
-- kind: ConnectorError
-- error: Connector error: Invalid value 'ten' for option 'number-of-rows' of connector 'datagen': expected an integer
CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = 'ten');
SELECT * FROM t;
