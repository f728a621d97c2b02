-- A parenthesis is never closed.
-- kind: SqlParseError
-- error: SQL parse error at line 1, column 16: Expecting )
-- at: FROM
SELECT COUNT(* FROM orders;
