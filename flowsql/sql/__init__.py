"""SQL front end: the Flink dialect on sqlglot, script splitting and statement classification."""
