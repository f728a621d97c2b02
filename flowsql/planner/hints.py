"""Query hints of a SELECT block: ``/*+ STATE_TTL('name' = 'duration', ...) */`` (Flink 1.19).

Contract:
- :func:`state_ttl` reads the STATE_TTL hints of one SELECT block (the hint block right after
  ``SELECT``; sqlglot parses it into ``select.args['hint']``) and returns ``{name: ttl_ms}``.
  It validates them as Flink does: a key (a string literal or a simple identifier) must name
  an input of that block — a table or view by its name (last part or the full dotted path),
  the alias of a table, view, subquery or window TVF (the table a TVF windows counts too), or
  a joined table — else ``ValidationError`` (Flink's "cannot match the name of input tables
  or views") listing the block's inputs. A value must be a quoted Flink duration (``'1d'``,
  ``'3 h'``, ``'90 min'``, ``'1000'`` = ms; ``'0'`` keeps state forever), else
  ``ValidationError`` naming the hint and the key. A key given twice, or a STATE_TTL without
  ``'name' = 'duration'`` pairs, is a ``ValidationError`` too. Hint names are
  case-insensitive; other hints (BROADCAST, LOOKUP, ...) are left alone, as before.
- :func:`check_query_hints` runs :func:`state_ttl` on every SELECT block of a query tree, so a
  bad hint fails before anything else is planned — including a block FlowSQL cannot run yet
  (joins): the hint is validated, then the join is refused.
- :func:`ttl_for` picks the TTL for an operator from the block's hints and the names its
  input answers to (None: no hint names it, the operator keeps ``table.exec.state.ttl``).

What uses it today: the group aggregation (``GROUP BY``, ``SELECT DISTINCT``) planned from the
hinted block takes the TTL as its ``state_ttl_ms`` param, which wins over
``table.exec.state.ttl`` for that operator only. A hinted block without a group aggregation
(a window aggregation, whose state is freed when windows fire; a projection) ignores the
hint, as Flink does. A regular join's side takes the TTL of a key naming an input on that
side (``Join.state_ttl_ms``).
"""

from __future__ import annotations

from sqlglot import exp

from flowsql.errors import ValidationError
from flowsql.sql.expressions import WindowTVF

STATE_TTL = "STATE_TTL"
_EXAMPLE = "/*+ STATE_TTL('orders' = '1d') */"


def _hint_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    if isinstance(node, exp.Var | exp.Column):
        return node.name.upper()
    return node.sql_name().upper() if isinstance(node, exp.Func) else ""


def _key(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this
    if isinstance(node, exp.Column) and not node.table:
        return node.name
    if isinstance(node, exp.Identifier):
        return node.name
    return None


def item_names(item: exp.Expression) -> list[str]:
    """Names a FROM / JOIN item answers to in a hint (see the module contract)."""
    out: list[str] = []
    alias = item.args.get("alias")
    if alias is not None and alias.name:
        out.append(alias.name)
    if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
        parts = [p for p in (item.catalog, item.db, item.name) if p]
        out += [parts[-1], ".".join(parts)]
    elif isinstance(item, WindowTVF):
        inner = item.args.get("table")
        if inner is not None:
            out += item_names(inner)
    return list(dict.fromkeys(out))


def input_names(select: exp.Select) -> list[str]:
    """Every name the inputs of ``select`` (FROM item and joined items) answer to."""
    from_ = select.args.get("from_") or select.args.get("from")
    items = [from_.this] if from_ is not None else []
    items += [j.this for j in select.args.get("joins") or []]
    names: list[str] = []
    for item in items:
        names += item_names(item)
    return list(dict.fromkeys(names))


def state_ttl(select: exp.Select) -> dict[str, int]:
    """The validated STATE_TTL hints of one SELECT block: ``{input name: ttl ms}``."""
    from connectors.options import parse_duration_ms

    hint = select.args.get("hint")
    if hint is None:
        return {}
    out: dict[str, int] = {}
    inputs: list[str] | None = None
    for h in hint.expressions:
        if _hint_name(h) != STATE_TTL:
            continue
        pairs = h.expressions if isinstance(h, exp.Anonymous) else []
        if not pairs:
            raise ValidationError(
                "the STATE_TTL hint needs at least one 'input' = 'duration' pair",
                hint=f"e.g. {_EXAMPLE}")
        for pair in pairs:
            key = _key(pair.this) if isinstance(pair, exp.EQ) else None
            value = pair.expression if isinstance(pair, exp.EQ) else None
            if key is None or value is None:
                raise ValidationError(
                    f"the STATE_TTL hint takes 'input' = 'duration' pairs, not {pair.sql('flink')}",
                    hint=f"e.g. {_EXAMPLE}")
            text = value.this if isinstance(value, exp.Literal) and value.is_string else None
            ms = parse_duration_ms(text) if text is not None else None
            if ms is None:
                raise ValidationError(
                    f"the STATE_TTL hint gives '{key}' the value {value.sql('flink')}, which is "
                    "not a duration",
                    hint="a quoted Flink duration: '1d', '12 h', '30 min', '90 s', '1000 ms' "
                    "('0' keeps the state forever)")
            if key in out:
                raise ValidationError(f"the STATE_TTL hint names '{key}' twice")
            if inputs is None:
                inputs = input_names(select)
            if key not in inputs:
                raise ValidationError(
                    f"the STATE_TTL hint names '{key}', which is not an input table or view of "
                    "this query block",
                    hint="its inputs: " + (", ".join(inputs) if inputs else "none")
                    + " (a table or view name, or its alias)")
            out[key] = ms
    return out


def check_query_hints(query: exp.Expression) -> None:
    """Validate the STATE_TTL hints of every SELECT block in ``query``."""
    for node in query.find_all(exp.Select):
        state_ttl(node)


def ttl_for(hints: dict[str, int], names: list[str] | set[str]) -> int | None:
    """The TTL the hints give an operator whose input answers to ``names`` (first match in
    hint order), or None."""
    for key, ms in hints.items():
        if key in names:
            return ms
    return None
