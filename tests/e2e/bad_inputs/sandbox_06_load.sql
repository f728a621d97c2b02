-- LOAD is DuckDB's, not a FlowSQL statement.
-- kind: SqlParseError
-- error: unknown statement, found 'LOAD'
-- at: LOAD
LOAD httpfs;
