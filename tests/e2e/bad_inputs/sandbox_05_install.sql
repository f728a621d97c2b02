-- INSTALL is DuckDB's, not a FlowSQL statement.
-- kind: SqlParseError
-- error: unknown statement, found 'INSTALL'
-- at: INSTALL
INSTALL httpfs;
