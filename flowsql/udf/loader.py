"""Load a user-defined function from its path ``'package.module.attr'``.

Contract: :func:`load_function(path, sql_name, language)` imports ``package.module`` and
returns its ``attr``, which must be a :class:`~flowsql.udf.api.ScalarFunction`,
``TableFunction`` or ``AggregateFunction`` (made by ``@udf``, ``@udtf``, ``@udaf``). Every
failure is a ``ValidationError`` naming the SQL function and the path:

- ``LANGUAGE JAVA`` / ``SCALA``, or a path that cannot be imported and reads as a JVM class
  name (reverse-domain: ``com.example.udf.MyUdf``): FlowSQL runs Python functions, with a
  one-line example;
- the module cannot be imported: names the module and the import error (type and first line
  of its message; an exception raised by the module's own code counts too), with a hint
  about ``PYTHONPATH``;
- the module has no such attribute, or the attribute is not a decorated function.

Modules are imported from ``sys.path`` (``PYTHONPATH``), the folders of
``SET 'python.files'`` (:func:`add_python_files`) and, last, the current directory.
The session calls this at ``CREATE FUNCTION`` (so a bad path fails there) and again when a
query uses the function (a module removed since fails then, with the same message).
"""

from __future__ import annotations

import importlib
import os
import re
import sys

from flowsql.errors import ValidationError
from flowsql.udf.api import EXAMPLE, AggregateFunction, ScalarFunction, TableFunction, UserFunction

JVM_LANGUAGES = ("JAVA", "SCALA")
_JVM_ROOTS = ("com", "org", "io", "net", "de", "edu")
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9_$]*$")


def jvm_error(sql_name: str, path: str) -> ValidationError:
    return ValidationError(
        f"function '{sql_name}' AS '{path}' names a Java class, but FlowSQL runs Python "
        "functions only",
        hint="write the function in Python and register it with "
             f"CREATE FUNCTION {sql_name} AS 'my_udfs.{sql_name}' LANGUAGE PYTHON, where "
             f"my_udfs.py holds: @udf(result_type='BIGINT') def {sql_name}(s): ... (see docs/udf.md)",
    )


def looks_like_jvm_class(path: str) -> bool:
    """A reverse-domain class name (``com.example.udf.MyUdf``). A Python class path such as
    ``my_udfs.WeightedAvg`` is not one: only consulted when the module does not import."""
    parts = path.split(".")
    return len(parts) >= 3 and parts[0] in _JVM_ROOTS and bool(_CLASS_NAME.match(parts[-1]))


def add_python_files(spec: str) -> None:
    """``'python.files'``: put the folder of each listed file (or each listed directory)
    on ``sys.path``, after what is there (process-wide, idempotent)."""
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        folder = item if os.path.isdir(item) else os.path.dirname(os.path.abspath(item))
        if folder not in sys.path:
            sys.path.append(folder)


def _import(module: str):
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)  # last: sys.path / PYTHONPATH win
    return importlib.import_module(module)


def load_function(path: str, sql_name: str, language: str = "PYTHON") -> UserFunction:
    """The decorated function ``path`` names (see the module contract)."""
    if language.upper() in JVM_LANGUAGES:
        raise jvm_error(sql_name, path)
    if language.upper() != "PYTHON":
        raise ValidationError(f"function '{sql_name}': unknown LANGUAGE {language}",
                              hint="FlowSQL runs LANGUAGE PYTHON functions")
    module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ValidationError(
            f"function '{sql_name}': '{path}' is not a Python path 'package.module.attr'",
            hint=EXAMPLE.splitlines()[0] + "; then CREATE FUNCTION f AS 'my_udfs.f'",
        )
    try:
        module = _import(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure of user code while importing
        if isinstance(exc, ModuleNotFoundError) and looks_like_jvm_class(path):
            raise jvm_error(sql_name, path) from None
        first = (str(exc).splitlines() or [""])[0]
        missing = isinstance(exc, ModuleNotFoundError) and module_name.startswith(exc.name or "")
        raise ValidationError(
            f"function '{sql_name}': cannot import module '{module_name}': "
            f"{type(exc).__name__}: {first}",
            hint="put the module on PYTHONPATH or list its file in SET 'python.files'" if missing
            else f"the module was found but importing it failed; python -c 'import {module_name}' "
                 "shows the traceback",
        ) from None
    if not hasattr(module, attr):
        raise ValidationError(
            f"function '{sql_name}': module '{module_name}' has no attribute '{attr}'",
            hint=f"define {attr} in {getattr(module, '__file__', module_name)} with @udf, "
                 "@udtf or @udaf",
        )
    obj = getattr(module, attr)
    if not isinstance(obj, ScalarFunction | TableFunction | AggregateFunction):
        raise ValidationError(
            f"function '{sql_name}': '{path}' is not a FlowSQL function "
            f"(it is {type(obj).__name__})",
            hint="decorate it with @udf(result_type=...), @udtf(...) or @udaf(...) from "
                 "flowsql.udf",
        )
    return obj
