-- A JSON value that does not convert to its column's type.
-- kind: MalformedRecordError
-- error: field 'amount' value "lots" does not convert to BIGINT
-- error: (at ${DATA}/orders_json_type.json:2)
CREATE TABLE t (id BIGINT, name STRING, amount BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders_json_type.json', 'format' = 'json');
SELECT * FROM t;
