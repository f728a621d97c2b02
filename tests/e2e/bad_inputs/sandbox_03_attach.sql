-- ATTACH is DuckDB's, not a FlowSQL statement.
-- kind: SqlParseError
-- error: unknown statement, found 'ATTACH'
-- at: ATTACH
-- cli
ATTACH '/tmp/other.db' AS other;
