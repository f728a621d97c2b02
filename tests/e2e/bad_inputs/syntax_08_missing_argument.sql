-- A built-in function called without its argument.
-- kind: SqlParseError
-- error: SQL parse error at line 1, column 14: missing argument of UPPER()
-- at: )
SELECT UPPER() FROM orders;
