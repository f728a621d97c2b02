"""Handlers for ``CREATE FUNCTION`` and ``DROP FUNCTION`` (user-defined Python functions).

Contract: ``HANDLERS`` maps :class:`~flowsql.sql.statements.CreateFunction` and
``DropFunction`` to ``handler(session, stmt) -> Result``.

- CREATE FUNCTION refuses ``LANGUAGE JAVA|SCALA`` and JVM class names with a message saying
  that FlowSQL runs Python functions (:func:`flowsql.udf.loader.jvm_error`), then imports the
  function now, so a module that cannot be imported, a missing attribute or an undecorated
  object fails at CREATE time naming the module. It records the definition: TEMPORARY SYSTEM
  functions for the session, TEMPORARY ones in the current (or named) database for the
  session, others in the persistent catalog (kept across sessions; a query in a later
  session imports the module again when it first uses the function).
- A TEMPORARY SYSTEM function may not take a built-in function's name (it would not be
  called: the built-in is resolved first).
- DROP FUNCTION removes it (``CatalogError`` when missing unless IF EXISTS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from catalog.functions import SYSTEM, FunctionDefinition
from catalog.table import ObjectName
from flowsql.errors import ValidationError
from flowsql.session.result import Result
from flowsql.sql import statements as st
from flowsql.udf.loader import JVM_LANGUAGES, add_python_files, jvm_error, load_function

if TYPE_CHECKING:
    from flowsql.session.session import Session

SUCCESS = "[INFO] Execute statement succeeded."


def is_builtin(name: str) -> bool:
    """Whether ``name(x)`` means a built-in function (sqlglot node or the expression table)."""
    import sqlglot
    from sqlglot import exp

    from flowsql.expr.functions import lookup
    from flowsql.session.ddl import BUILTIN_FUNCTIONS

    if name.upper() in BUILTIN_FUNCTIONS:
        return True
    try:
        node = sqlglot.parse_one(f"{name}(1)", read="flink")
    except Exception:  # noqa: BLE001 - a name that does not parse as a call: not a built-in
        return False
    if not isinstance(node, exp.Anonymous):
        return True
    try:
        lookup(name.upper())
        return True
    except Exception:  # noqa: BLE001 - unknown to the expression compiler
        return False


def _create_function(session: Session, stmt: st.CreateFunction) -> Result:
    display = stmt.name[-1]
    if stmt.language in JVM_LANGUAGES:
        raise jvm_error(display, stmt.path)
    add_python_files(session.config.get("python.files") or "")
    fn = load_function(stmt.path, display, stmt.language)
    functions = session.catalog.functions
    if stmt.system:
        if is_builtin(display):
            raise ValidationError(
                f"cannot create temporary system function '{display}': it is a built-in function",
                hint="choose another name",
            )
        name = ObjectName(SYSTEM.catalog, SYSTEM.database, display.lower())
    else:
        name = functions.qualified(stmt.name)
    defn = FunctionDefinition(
        name=name, path=stmt.path, language="PYTHON", function_kind=fn.kind,
        temporary=stmt.temporary, system=stmt.system,
    )
    functions.create(defn, if_not_exists=stmt.if_not_exists)
    return Result.ok(SUCCESS)


def _drop_function(session: Session, stmt: st.DropFunction) -> Result:
    session.catalog.functions.drop(stmt.name, if_exists=stmt.if_exists,
                                   temporary=stmt.temporary, system=stmt.system)
    return Result.ok(SUCCESS)


HANDLERS: dict[type, Callable[[Session, Any], Result]] = {
    st.CreateFunction: _create_function,
    st.DropFunction: _drop_function,
}
