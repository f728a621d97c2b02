-- A misspelled clause keyword (WHER is read as an alias of the table, so 'id' is unexpected).
-- kind: SqlParseError
-- error: SQL parse error at line 1, column 28: unexpected 'id'
-- error: Hint: did you mean WHERE instead of 'WHER'?
-- at: id > 1
-- cli
SELECT id FROM orders WHER id > 1;
