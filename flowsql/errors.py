"""The one error tree every face (shell, gateway, CLI) renders the same way.

Contract:
- Every error a user can cause is a :class:`FlowSQLError`; anything else escaping the
  engine is a bug and faces show it as an internal error (traceback only with --verbose).
- ``str(err)`` is the full user-facing message; :meth:`FlowSQLError.render` is what the
  shell and gateway print (a title line plus detail lines, e.g. a caret under the column).
"""

from __future__ import annotations


class FlowSQLError(Exception):
    """Base of all user-facing errors. ``title`` names the kind of error."""

    title = "Error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"{self.title}: {self.message}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text


class SqlParseError(FlowSQLError):
    """SQL text that does not parse. ``line``/``col`` are 1-based positions in the script."""

    title = "SQL parse error"

    def __init__(
        self,
        message: str,
        *,
        line: int,
        col: int,
        source_line: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.line = line
        self.col = col
        self.source_line = source_line

    def render(self) -> str:
        text = f"{self.title} at line {self.line}, column {self.col}: {self.message}"
        if self.source_line:
            caret = " " * max(self.col - 1, 0) + "^"
            text += f"\n  {self.source_line}\n  {caret}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.render()


class ValidationError(FlowSQLError):
    """A statement that parses but is invalid: unknown table or column, type mismatch, ..."""

    title = "Validation error"


class CatalogError(ValidationError):
    """Catalog problems: object exists / does not exist, corrupt catalog store."""

    title = "Catalog error"


class NotSupportedError(ValidationError):
    """A construct that parses but that the engine cannot run yet. Message starts 'not supported yet: '."""

    title = "Not supported yet"

    def __init__(self, construct: str, *, hint: str | None = None) -> None:
        super().__init__(f"not supported yet: {construct}", hint=hint)
        self.construct = construct

    def render(self) -> str:
        text = f"{self.title}: {self.construct}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text


class PlanError(FlowSQLError):
    """Planning failed (e.g. an updating result into an append-only sink)."""

    title = "Planning error"


class ConnectorError(FlowSQLError):
    """Connector option or I/O problems. Option errors name the option and list the valid ones."""

    title = "Connector error"


class ExecutionError(FlowSQLError):
    """A running query failed. ``operator_id`` names the operator when known."""

    title = "Execution error"

    def __init__(self, message: str, *, operator_id: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.operator_id = operator_id

    def render(self) -> str:
        where = f" in operator {self.operator_id}" if self.operator_id else ""
        text = f"{self.title}{where}: {self.message}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text


class UnknownJobError(ExecutionError):
    """No job has this id: it never existed, or it ended and was forgotten (the JobManager
    keeps the latest ``max_finished_jobs`` ended jobs)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"unknown job id '{job_id}'")


class MalformedRecordError(ExecutionError):
    """A source record that cannot be decoded; ``position`` names the file and line/offset."""

    title = "Malformed record"

    def __init__(self, message: str, *, position: str, hint: str | None = None) -> None:
        super().__init__(f"{message} (at {position})", hint=hint)
        self.position = position


class QueryCancelled(FlowSQLError):
    """The user cancelled the running statement (Ctrl-C)."""

    title = "Cancelled"
