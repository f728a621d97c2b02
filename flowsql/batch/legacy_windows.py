"""Legacy group windows (``GROUP BY TUMBLE(ts, INTERVAL ...)``) → window TVFs.

Contract: :func:`rewrite_group_windows` rewrites, in every SELECT whose GROUP BY holds
``TUMBLE(ts, size)``, ``HOP(ts, slide, size)`` or ``SESSION(ts, gap)``:
1. the single FROM relation ``r`` becomes ``TABLE(<KIND>(TABLE r, DESCRIPTOR(ts), ...))``
   (for SESSION, the other plain-column GROUP BY keys become its PARTITION BY, since legacy
   session windows are per key);
2. the group window in GROUP BY becomes ``window_start, window_end``;
3. ``<KIND>_START`` / ``<KIND>_END`` / ``<KIND>_ROWTIME`` calls anywhere in the SELECT become
   ``window_start`` / ``window_end`` / ``window_time``.
The result then goes through the same window-TVF translation as ``TABLE(TUMBLE(...))``.
"""

from __future__ import annotations

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.sql.expressions import WindowTVF

_KINDS = ("TUMBLE", "HOP", "SESSION")
_AUX = {"START": "window_start", "END": "window_end", "ROWTIME": "window_time"}


def _name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    if isinstance(node, exp.Func):
        return node.sql_name().upper()
    return ""


def _args(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    return [a for a in node.iter_expressions()]


def _rewrite_select(select: exp.Select) -> None:
    group = select.args.get("group")
    if group is None:
        return
    windows = [g for g in group.expressions if _name(g) in _KINDS]
    if not windows:
        return
    if len(windows) > 1:
        raise ValidationError("a GROUP BY may hold only one group window")
    window = windows[0]
    kind = _name(window)
    args = _args(window)
    if not args or not isinstance(args[0], exp.Column):
        raise ValidationError(f"{kind}(...) in GROUP BY needs a time column as first argument")
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None or select.args.get("joins"):
        raise NotSupportedError(f"GROUP BY {kind}(...) over a join; use a window TVF on a subquery")
    source = from_.this
    if not isinstance(source, exp.Table | exp.Subquery):
        raise NotSupportedError(f"GROUP BY {kind}(...) over {source.sql()}")
    alias = source.args.get("alias")
    alias_name = alias.name if alias is not None else (source.name if isinstance(source, exp.Table) else "")
    inner = source.copy()
    inner.set("alias", None)
    keys = [g for g in group.expressions if g is not window]
    partition = [k.copy() for k in keys if isinstance(k, exp.Column)] if kind == "SESSION" else None
    tvf = WindowTVF(
        this=kind,
        table=inner,
        time_col=_same_place(exp.column(args[0].name), args[0]),
        intervals=[a.copy() for a in args[1:]],
        partition_by=partition or None,
        alias=exp.TableAlias(this=exp.to_identifier(alias_name)) if alias_name else None,
    )
    from_.set("this", tvf)
    group.set(
        "expressions", keys + [exp.column("window_start"), exp.column("window_end")]
    )

    def aux(node: exp.Expression) -> exp.Expression:
        name = _name(node)
        head, _, tail = name.partition("_")
        if head in _KINDS and tail in _AUX:
            if head != kind:
                raise ValidationError(f"{name}() does not match the group window {kind}(...)")
            if tail == "ROWTIME":  # window_time, written over a grouped column
                return exp.Sub(
                    this=exp.column("window_end"),
                    expression=exp.Interval(this=exp.Literal.string("1"), unit=exp.var("MILLISECOND")),
                )
            return exp.column(_AUX[tail])
        if head in _KINDS and tail == "PROCTIME":
            raise NotSupportedError(f"{name}() in batch mode")
        return node

    for key in ("expressions", "having", "order", "qualify"):
        value = select.args.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            select.set(key, [v.transform(aux) for v in value])
        else:
            select.set(key, value.transform(aux))


def rewrite_group_windows(tree: exp.Expression) -> exp.Expression:
    """Rewrite every legacy group window in ``tree`` (in place; returns ``tree``)."""
    for select in list(tree.find_all(exp.Select)):
        _rewrite_select(select)
    return tree


def _same_place(column: exp.Column, original: exp.Column) -> exp.Column:
    """``column`` carrying ``original``'s position in the statement (for error messages)."""
    column.this.meta.update(original.this.meta)
    return column
