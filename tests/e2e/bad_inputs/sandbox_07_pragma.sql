-- PRAGMA is DuckDB's, not a FlowSQL statement.
-- kind: SqlParseError
-- error: unknown statement, found 'PRAGMA'
-- at: PRAGMA
PRAGMA database_list;
