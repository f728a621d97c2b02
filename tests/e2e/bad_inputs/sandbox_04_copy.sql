-- COPY is DuckDB's, not a FlowSQL statement.
-- kind: SqlParseError
-- error: unknown statement, found 'COPY'
-- at: COPY
COPY orders TO '/tmp/out.csv';
