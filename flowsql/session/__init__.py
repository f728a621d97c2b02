"""Sessions: the one place that executes statements for every face (shell, gateway, CLI)."""

from flowsql.session.result import Result
from flowsql.session.session import Session

__all__ = ["Result", "Session"]
