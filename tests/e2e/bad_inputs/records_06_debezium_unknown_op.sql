-- A Debezium change event with an operation that is not c, r, u or d (streaming: batch mode
-- does not read changelog formats).
-- kind: MalformedRecordError
-- error: Unknown "op" value "x". The Debezium JSON message is '{"op": "x", "after": {"id": 2}}' (at ${DATA}/changes_bad.json:2)
-- error: Hint: Set 'debezium-json.ignore-parse-errors' = 'true' to skip malformed records.
SET 'execution.runtime-mode' = 'streaming';
CREATE TABLE t (id BIGINT, name STRING, amount BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/changes_bad.json', 'format' = 'debezium-json');
SELECT * FROM t;
