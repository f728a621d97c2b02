-- A line that is not valid JSON.
-- kind: MalformedRecordError
-- error: Malformed record: cannot parse JSON record '{"id": 2, "name": "bob"': not valid JSON
-- error: (at ${DATA}/orders_bad.json:2)
-- error: Hint: Set 'json.ignore-parse-errors' = 'true' to skip malformed records.
-- cli
CREATE TABLE t (id BIGINT, name STRING, amount BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders_bad.json', 'format' = 'json');
SELECT * FROM t;
