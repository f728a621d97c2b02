-- A missing field with 'json.fail-on-missing-field' = 'true'.
-- kind: MalformedRecordError
-- error: field 'name' is missing
-- error: (at ${DATA}/orders_missing_field.json:2)
CREATE TABLE t (id BIGINT, name STRING, amount BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders_missing_field.json', 'format' = 'json',
        'json.fail-on-missing-field' = 'true');
SELECT * FROM t;
