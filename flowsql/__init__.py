"""FlowSQL: a SQL-first streaming database. Flink SQL in, Arrow batches inside, DuckDB for bounded queries."""

__version__ = "0.1.0"
