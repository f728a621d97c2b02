"""sqlglot expression nodes for Flink constructs that sqlglot has no node for.

Contract (shared by the dialect, the batch transpiler and the streaming planner):
- ``TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))`` parses to
  ``WindowTVF(this='TUMBLE', table=<exp.Table or exp.Subquery>, time_col=<exp.Column>,
  intervals=[<exp.Interval>...], partition_by=[<exp.Column>...] | None)`` and appears where a
  table may appear (``From.this``, ``Join.this``), with an optional ``alias`` (exp.TableAlias).
  Interval order is Flink's: TUMBLE(size); HOP(slide, size); CUMULATE(step, max size);
  SESSION(gap). Named arguments (``DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SIZE => ...``)
  parse to the same node.
- ``DESCRIPTOR(c)`` outside a window TVF parses to :class:`Descriptor`.
"""

from __future__ import annotations

from sqlglot import exp


class WindowTVF(exp.Expression):
    """A Flink windowing table-valued function in FROM."""

    arg_types = {
        "this": True,  # window kind: 'TUMBLE' | 'HOP' | 'CUMULATE' | 'SESSION' (str)
        "table": True,  # exp.Table | exp.Subquery
        "time_col": True,  # exp.Column named by DESCRIPTOR(...)
        "intervals": True,  # list[exp.Interval]
        "partition_by": False,  # list[exp.Column] (SESSION ... PARTITION BY k)
        "offset": False,  # exp.Interval (optional window offset)
        "alias": False,  # exp.TableAlias
    }

    @property
    def kind(self) -> str:
        return str(self.this).upper()

    @property
    def alias_or_name(self) -> str:  # type: ignore[override]
        alias = self.args.get("alias")
        return alias.name if alias else ""


class Descriptor(exp.Expression):
    """``DESCRIPTOR(col [, col])``."""

    arg_types = {"expressions": True}


WINDOW_KINDS = ("TUMBLE", "HOP", "CUMULATE", "SESSION")


# ------------------------------------------------------------------ SQL/JSON query functions
# JSON_OBJECT parses to sqlglot's exp.JSONObject (KEY k VALUE v pairs are exp.JSONKeyValue) and
# ``x IS JSON [VALUE|SCALAR|ARRAY|OBJECT]`` to exp.Is(this=x, expression=exp.JSON(this=kind)).


class JsonBehavior(exp.Expression, exp.Func):
    """``NULL | ERROR | TRUE | FALSE | UNKNOWN | EMPTY ARRAY | EMPTY OBJECT | DEFAULT expr``,
    the part before ``ON EMPTY`` / ``ON ERROR``."""

    # this: the kind (str); on: 'EMPTY' | 'ERROR' (str); default: the DEFAULT value (exp node)
    arg_types = {"this": True, "on": True, "default": False}

    @property
    def kind(self) -> str:
        return str(self.this).upper()


class JsonValue(exp.Expression, exp.Func):
    """``JSON_VALUE(json, path [RETURNING type] [b ON EMPTY] [b ON ERROR])``."""

    arg_types = {"this": True, "path": True, "returning": False, "on_empty": False,
                 "on_error": False}


class JsonQuery(exp.Expression, exp.Func):
    """``JSON_QUERY(json, path [WITHOUT|WITH [CONDITIONAL|UNCONDITIONAL] [ARRAY] WRAPPER]
    [b ON EMPTY] [b ON ERROR])``; ``wrapper`` is 'WITHOUT', 'CONDITIONAL' or 'UNCONDITIONAL'."""

    arg_types = {"this": True, "path": True, "wrapper": False, "on_empty": False,
                 "on_error": False}


class JsonExists(exp.Expression, exp.Func):
    """``JSON_EXISTS(json, path [TRUE|FALSE|UNKNOWN|ERROR ON ERROR])``."""

    arg_types = {"this": True, "path": True, "on_error": False}


class JsonArray(exp.Expression, exp.Func):
    """``JSON_ARRAY([value, ...] [NULL|ABSENT ON NULL])``; ``null_handling`` is 'NULL' or
    'ABSENT' (Flink's default is ABSENT)."""

    arg_types = {"expressions": False, "null_handling": False}
    is_var_len_args = True
