-- An unbounded datagen table read in batch mode.
-- kind: ConnectorError
-- error: is an unbounded datagen source; batch mode needs 'number-of-rows' (or a 'sequence' field)
-- error: Hint: Add 'number-of-rows' = '<n>' to the table's options, or run in streaming mode
CREATE TABLE t (a INT) WITH ('connector' = 'datagen');
SELECT * FROM t;
