-- JSON_VALUE ... ERROR ON ERROR over a column that is not JSON (fails when the query runs).
-- kind: ExecutionError
-- error: Execution error: JSON_VALUE: not valid JSON, or the path fails at path '$.a' (ERROR ON ERROR)
SELECT JSON_VALUE(name, '$.a' ERROR ON ERROR) FROM orders;
