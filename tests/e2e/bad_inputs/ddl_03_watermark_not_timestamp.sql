-- A WATERMARK on a column that is not a timestamp.
-- kind: ValidationError
-- error: Validation error: invalid type INT of the watermark column 'a'
-- error: Hint: the rowtime column must be TIMESTAMP(p) or TIMESTAMP_LTZ(p)
CREATE TABLE t (a INT, WATERMARK FOR a AS a - INTERVAL '5' SECOND) WITH ('connector' = 'datagen');
