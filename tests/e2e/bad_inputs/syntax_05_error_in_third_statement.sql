-- The third statement of a script is incomplete; line and column count from the top of the
-- script, and the first two statements have already run.
-- kind: SqlParseError
-- error: SQL parse error at line 5, column 23: incomplete expression or clause
-- at: WHERE
-- cli
SELECT id FROM orders;
SELECT name
FROM orders
ORDER BY name;
SELECT id FROM orders WHERE;
