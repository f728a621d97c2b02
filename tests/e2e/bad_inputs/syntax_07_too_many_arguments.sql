-- A built-in function called with more arguments than it takes.
-- kind: SqlParseError
-- error: SQL parse error at line 1, column 24: too many arguments: 2 given, at most 1 accepted
-- at: )
SELECT UPPER(name, name) FROM orders;
