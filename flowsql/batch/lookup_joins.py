"""Batch mode runs a lookup join as a regular join, as Flink's batch mode does.

Contract (:func:`drop_lookup_versions`, a transpiler step before tables are resolved): a
``t FOR SYSTEM_TIME AS OF x`` whose ``x`` names a processing-time attribute — a ``PROCTIME()``
select item of the query or of a view it reads (by its alias), or a ``PROCTIME()`` computed
column of a catalog table the query reads — loses its ``FOR SYSTEM_TIME AS OF`` and joins
``t`` as it is now. Any other ``AS OF`` (event time) is left for the transpiler's
NotSupportedError. The match is by column name, so a name that is a PROCTIME() attribute
somewhere in the query counts everywhere in it.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from catalog.table import TableDefinition, ViewDefinition


def _is_proctime(e: exp.Expression | None) -> bool:
    if isinstance(e, exp.Anonymous):
        return e.name.upper() == "PROCTIME" and not e.expressions
    return False


def _proctime_names(tree: exp.Expression, resolver: Any, seen: set[str] | None = None) -> set[str]:
    from flowsql.sql.parser import parse_expression, parse_query

    seen = set() if seen is None else seen
    found = {a.alias for a in tree.find_all(exp.Alias) if _is_proctime(a.this)}
    local = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        parts = tuple(p.name for p in table.parts)
        if not isinstance(table.this, exp.Identifier) or (len(parts) == 1 and parts[0].lower() in local):
            continue
        try:
            obj = resolver.lookup(parts)
        except Exception:  # noqa: BLE001 - an unknown name is reported when tables resolve
            continue
        if isinstance(obj, TableDefinition):
            found |= {c.name for c in obj.columns if c.kind == "computed" and c.expression
                      and _is_proctime(parse_expression(c.expression))}
        elif isinstance(obj, ViewDefinition) and str(obj.name) not in seen:  # a view's items
            seen.add(str(obj.name))
            found |= _proctime_names(parse_query(obj.query), resolver, seen)
    return found


def drop_lookup_versions(tree: exp.Expression, resolver: Any) -> None:
    """See the module contract."""
    versions = [t for t in tree.find_all(exp.Table) if t.args.get("version") is not None]
    if not versions:
        return
    proctime = _proctime_names(tree, resolver)
    for table in versions:
        e = table.args["version"].args.get("expression")
        if isinstance(e, exp.Column) and e.name in proctime:
            table.set("version", None)
