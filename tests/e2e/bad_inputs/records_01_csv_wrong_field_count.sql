-- A CSV row with too few fields; the message names the file and line.
-- kind: MalformedRecordError
-- error: Malformed record: cannot parse CSV record '2,bob': too few fields
-- error: (at ${DATA}/orders_short_row.csv:2)
-- error: Hint: Set 'csv.ignore-parse-errors' = 'true' to skip malformed records.
-- cli
CREATE TABLE t (id BIGINT, name STRING, amount BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders_short_row.csv', 'format' = 'csv');
SELECT * FROM t;
