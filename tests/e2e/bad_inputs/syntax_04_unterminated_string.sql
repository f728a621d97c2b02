-- A string literal that is never closed.
-- kind: SqlParseError
-- error: SQL parse error at line 2, column 14: unterminated string literal
-- at: 'alice
SELECT * FROM orders
WHERE name = 'alice;
