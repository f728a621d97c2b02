"""Aggregations in a SELECT: split into pre-projection → aggregate → post-projection.

Contract of :func:`plan_aggregation` (expressions arrive with table qualifiers stripped):
1. GROUP BY keys: a plain column stays a key under its name; any other expression is
   computed by the pre-projection under the select item's alias when one selects exactly that
   expression, else ``EXPR$k``. For window aggregations ``window_start``/``window_end`` (and
   ``window_time``) are window columns, not keys; GROUP BY must name ``window_bounds`` (both
   bounds; only ``window_end`` for a cascaded aggregation, whose start is a key:
   :mod:`flowsql.planner.cascaded_windows`).
2. Aggregate calls (COUNT/COUNT(*)/COUNT(DISTINCT)/SUM/MIN/MAX/AVG/FIRST_VALUE/LAST_VALUE,
   each optionally ``FILTER (WHERE ...)``) found anywhere in the select list and HAVING become
   :class:`~flowsql.operators.specs.AggCall` (identical calls share one). A non-column argument
   is computed by the pre-projection as ``$f<n>``, a FILTER condition as ``$g<n>``. The output
   is the select item's alias when the item is exactly that call, else ``EXPR$<n>``.
3. The select list and HAVING are rewritten over the aggregate's output (keys, window
   columns, aggregate outputs): ``SUM(x) * 2`` becomes ``EXPR$0 * 2`` evaluated by a Calc
   after the aggregate. A column that is neither grouped nor aggregated → ValidationError.
Other aggregate functions (STDDEV, LISTAGG, ...) → NotSupportedError; nested aggregates and
aggregates in WHERE / GROUP BY → ValidationError.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.operators.specs import AggCall
from flowsql.planner.windows import WINDOW_COLUMNS

SUPPORTED = {"COUNT", "SUM", "MIN", "MAX", "AVG", "FIRST_VALUE", "LAST_VALUE", "PYTHON_UDAF"}
_ANON_AGGREGATES = {
    "PYTHON_UDAF",  # a Python aggregate function (flowsql.udf.resolve)
    "FIRST_VALUE", "LAST_VALUE", "STDDEV", "STDDEV_POP", "STDDEV_SAMP", "VAR_POP", "VAR_SAMP",
    "VARIANCE", "LISTAGG", "COLLECT", "SUM0", "ARRAY_AGG", "JSON_ARRAYAGG", "JSON_OBJECTAGG",
}


def sql(e: exp.Expression) -> str:
    return e.sql(dialect="flink")


def col(name: str) -> exp.Column:
    """A column reference, backquoted only when the name needs it."""
    from flowsql.sql.generator import quote

    return exp.column(name, quoted=quote(name) != name)


def agg_name(node: exp.Expression) -> str | None:
    """Upper-case aggregate function name of ``node`` (None when it is not an aggregate)."""
    if isinstance(node, exp.Filter):
        return agg_name(node.this)
    if isinstance(node, exp.Anonymous) and node.name.upper() in _ANON_AGGREGATES:
        return node.name.upper()
    if isinstance(node, exp.AggFunc):
        return node.sql_name().upper() if not isinstance(node, exp.Count) else "COUNT"
    return None


def contains_aggregate(e: exp.Expression | None) -> bool:
    if e is None:
        return False
    return any(agg_name(n) is not None for n in e.walk() if not _inside_window(n))


def _inside_window(node: exp.Expression) -> bool:
    p = node.parent
    while p is not None:
        if isinstance(p, exp.Window):
            return True
        p = p.parent
    return False


@dataclass
class AggregatePlan:
    pre: list[tuple[str, str]] = field(default_factory=list)  # (name, SQL over the input)
    keys: list[str] = field(default_factory=list)
    aggs: list[AggCall] = field(default_factory=list)
    window_columns: list[str] = field(default_factory=list)
    select: list[tuple[str, exp.Expression]] = field(default_factory=list)  # over agg output
    having: exp.Expression | None = None  # over agg output


def plan_aggregation(
    items: list[tuple[str, exp.Expression]],  # detached expressions (rewritten in place)
    group: list[exp.Expression],
    having: exp.Expression | None,
    input_columns: list[str],
    *,
    window: bool = False,
    time_column: str | None = None,
    partition_keys: list[str] | None = None,
    window_bounds: tuple[str, ...] = ("window_start", "window_end"),
) -> AggregatePlan:
    plan = AggregatePlan()
    pre: dict[str, str] = {}  # name -> SQL
    key_by_sql: dict[str, str] = {}
    item_alias_by_sql = {sql(e): n for n, e in items}

    def add_pre(name: str, e: exp.Expression) -> str:
        pre[name] = sql(e)
        return name

    # 1. keys
    for g in group:
        if contains_aggregate(g):
            raise ValidationError(f"aggregate functions are not allowed in GROUP BY: {sql(g)}")
        if isinstance(g, exp.Column) and not g.table and g.name in WINDOW_COLUMNS and window:
            if g.name not in plan.window_columns:
                plan.window_columns.append(g.name)
            continue
        text = sql(g)
        if text in key_by_sql:
            continue
        if isinstance(g, exp.Column) and not g.table and g.name in input_columns:
            name = g.name
            g = col(name)
        else:
            alias = item_alias_by_sql.get(text)
            name = alias if alias and alias not in input_columns else f"EXPR${len(key_by_sql)}"
        key_by_sql[text] = name
        add_pre(name, g)
        plan.keys.append(name)
    if window and not set(window_bounds) <= set(plan.window_columns):
        raise ValidationError(
            "a window aggregation must GROUP BY both window_start and window_end",
            hint="GROUP BY window_start, window_end[, keys]",
        )
    for k in partition_keys or []:
        if k not in plan.keys:
            plan.keys.append(k)
            add_pre(k, col(k))
            key_by_sql[sql(col(k))] = k

    # 2. aggregate calls
    calls: dict[tuple, AggCall] = {}
    used_outputs = set(plan.keys) | set(WINDOW_COLUMNS)
    whole_item = {id(e): n for n, e in items}

    def agg_call(node: exp.Expression) -> AggCall:
        fn = agg_name(node)
        assert fn is not None
        if fn not in SUPPORTED:
            raise NotSupportedError(f"aggregate function {fn}")
        filt = None
        inner = node
        if isinstance(node, exp.Filter):
            inner = node.this
            where = node.expression
            filt = where.this if isinstance(where, exp.Where) else where
        args = list(inner.expressions) if isinstance(inner, exp.Anonymous) else (
            [inner.this] if inner.this is not None else []
        )
        udf = None
        if fn == "PYTHON_UDAF":  # PYTHON_UDAF('name', 'module.attr', args...)
            udf, args = (args[0].name, args[1].name), args[2:]
            if not args:
                raise NotSupportedError(f"Python aggregate function {udf[0]} without arguments")
        distinct = False
        if len(args) == 1 and isinstance(args[0], exp.Distinct):
            distinct = True
            args = list(args[0].expressions)
        if len(args) > 1 and udf is None:
            raise NotSupportedError(f"{fn} with {len(args)} arguments")
        arg = args[0] if args else None
        for a in [arg, filt]:
            if a is not None and contains_aggregate(a):
                raise ValidationError(f"aggregate functions cannot be nested: {sql(node)}")
        star = arg is None or isinstance(arg, exp.Star)
        if star and fn != "COUNT":
            raise ValidationError(f"{fn}(*) is not valid; only COUNT takes '*'")
        key = (fn, None if star else sql(arg), distinct, None if filt is None else sql(filt),
               udf, tuple(sql(a) for a in args[1:]))
        if key in calls:
            return calls[key]
        n = len(calls)
        if star:
            function, input_name = "COUNT_STAR", None
        else:
            function = fn
            if isinstance(arg, exp.Column) and not arg.table and arg.name in input_columns:
                input_name = arg.name
                pre.setdefault(input_name, sql(col(input_name)))
            else:
                input_name = add_pre(f"$f{n}", arg)
        extra: list[str] = []
        for j, a in enumerate(args[1:], 1):  # a Python aggregate's further arguments
            if isinstance(a, exp.Column) and not a.table and a.name in input_columns:
                extra.append(a.name)
                pre.setdefault(a.name, sql(col(a.name)))
            else:
                extra.append(add_pre(f"$f{n}_{j}", a))
        filter_name = add_pre(f"$g{n}", filt) if filt is not None else None
        alias = whole_item.get(id(node))
        output = alias if alias and alias not in used_outputs and not alias.startswith("$") else None
        if output is None:
            i = n
            while f"EXPR${i}" in used_outputs:
                i += 1
            output = f"EXPR${i}"
        used_outputs.add(output)
        call = AggCall(function, input_name, output, distinct, filter_name, udf, tuple(extra))
        calls[key] = call
        plan.aggs.append(call)
        return call

    # 3. rewrite select items and HAVING over the aggregate's output
    outputs = set(plan.keys) | set(WINDOW_COLUMNS)

    def rewrite(e: exp.Expression, what: str) -> exp.Expression:
        def fn(node: exp.Expression) -> exp.Expression:
            if agg_name(node) is not None and not isinstance(node.parent, exp.Filter):
                return col(agg_call(node).output)
            text = sql(node)
            if text in key_by_sql and not isinstance(node, exp.Literal):
                return col(key_by_sql[text])
            return node

        out = e.transform(fn, copy=False)  # in place: whole-item lookup is by identity
        for c in out.find_all(exp.Column):
            if c.name not in outputs and c.name not in {a.output for a in plan.aggs}:
                raise ValidationError(
                    f"column '{c.name}' in the {what} is neither grouped nor aggregated",
                    hint=f"add {c.name} to GROUP BY or wrap it in an aggregate function",
                )
            if c.name in WINDOW_COLUMNS and window and c.name not in plan.window_columns:
                plan.window_columns.append(c.name)
        return out

    for name, e in items:
        plan.select.append((name, rewrite(e, "select list")))
    if having is not None:
        plan.having = rewrite(having, "HAVING clause")
    if time_column is not None:
        pre.setdefault(time_column, sql(col(time_column)))
    plan.pre = list(pre.items())
    plan.window_columns = [c for c in WINDOW_COLUMNS if c in plan.window_columns]
    return plan
