"""FlowSQL: a SQL-first streaming database. Flink SQL in, Arrow batches inside, DuckDB for bounded queries."""

import logging

__version__ = "0.1.0"

# A library logs; the application (the shell, the gateway) decides where logs go. Without
# this, Python's last-resort handler would print task-failure tracebacks to stderr.
logging.getLogger("flowsql").addHandler(logging.NullHandler())
