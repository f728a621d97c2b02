-- A statement FlowSQL does not know.
-- kind: SqlParseError
-- error: SQL parse error at line 1, column 1: unknown statement, found 'FROBNICATE'
-- error: Hint: supported statements: SELECT / WITH / VALUES, INSERT INTO|OVERWRITE
FROBNICATE TABLE orders;
