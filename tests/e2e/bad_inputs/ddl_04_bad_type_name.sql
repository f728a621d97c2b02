-- A data type that does not exist.
-- kind: SqlParseError
-- error: SQL parse error at line 1, column 19: unknown data type 'INTEGR'
-- error: Hint: Flink types: STRING, VARCHAR(n)
-- at: INTEGR
CREATE TABLE t (a INTEGR) WITH ('connector' = 'datagen');
