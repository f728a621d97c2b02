-- CREATE TABLE with the same column twice.
-- kind: ValidationError
-- error: Validation error: duplicate column name 'a'
-- cli
CREATE TABLE t (a INT, b STRING, a BIGINT) WITH ('connector' = 'datagen');
