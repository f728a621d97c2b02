-- A DuckDB file-reading table function.
-- kind: ValidationError
-- error: Validation error: table function READ_CSV() is not allowed in FROM
-- error: Hint: batch queries read catalog tables and views only
-- cli
SELECT * FROM read_csv('/etc/passwd');
