-- A CSV field that is not a number in a BIGINT column.
-- kind: MalformedRecordError
-- error: Malformed record: cannot parse CSV record '3,carol,lots': value of column 'amount' does not convert
-- error: (at ${DATA}/orders_not_a_number.csv:3)
CREATE TABLE t (id BIGINT, name STRING, amount BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders_not_a_number.csv', 'format' = 'csv');
SELECT * FROM t;
