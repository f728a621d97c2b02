-- A trailing comma before FROM (sqlglot would silently drop it; Flink rejects it).
-- kind: SqlParseError
-- error: SQL parse error at line 2, column 12: unexpected ',': an item is missing after it
-- at: ,
-- cli
SELECT id,
       name,
FROM orders;
