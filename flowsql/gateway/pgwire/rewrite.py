"""Postgres introspection SQL → DuckDB SQL over the catalog mirror (sqlglot, postgres → duckdb).

Contract: :func:`rewrite` parses one statement with sqlglot's ``postgres`` dialect and
returns DuckDB SQL for :class:`~flowsql.gateway.pgwire.mirror.CatalogMirror`, or raises
:class:`~flowsql.gateway.pgwire.errors.Refused` for anything but a query (the mirror only
answers SELECT / WITH / VALUES / set operations). The transforms, in order:
1. ``pg_catalog.X`` / ``information_schema.X`` and bare names of the mirrored relations →
   the mirror's schemas (``fpg_catalog.X``, ``fpg_info.X``);
2. ``pg_catalog.f(…)`` → ``f(…)`` (the mirror's macros live in DuckDB's main schema);
3. ``x OPERATOR(pg_catalog.~) y`` and ``~``/``!~``/``~*`` → ``regexp_matches``;
   ``COLLATE pg_catalog.default`` and other collations are dropped;
4. casts to ``regclass``/``regtype``/``regnamespace``/``regproc``/``regrole``: a string literal
   becomes the object's oid (a lookup; digits are the oid itself), any other expression the
   object's name, unless cast on to ``oid`` (``format('%I.%I', s, t)::regclass::oid`` looks the
   name up); casts to ``oid``, ``name``, ``"char"``, ``int2vector``, ``text[]``… become
   DuckDB types; ``version()``, ``current_schema()``, ``current_database()``, ``current_user``,
   ``session_user`` and ``current_setting('literal')`` become the session's literals;
5. Postgres' ``format('%I.%s', …)`` → ``printf``; ``json_build_object``/``json_agg`` → DuckDB's
   JSON functions; a scalar function in FROM (``string_to_array(…) s``) becomes a one-row
   subquery and ``generate_series(…) AS i`` names its column ``i``, as in Postgres;
6. an unaliased output column is named as Postgres names it (``version``, ``format_type``,
   ``?column?``), since drivers read columns by name.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from flowsql.gateway.pgwire.errors import Refused

PG_SCHEMA, INFO_SCHEMA = "fpg_catalog", "fpg_info"
RENAMES = {"json_build_object": "json_object", "jsonb_build_object": "json_object",
           "json_agg": "json_group_array", "jsonb_agg": "json_group_array"}
REG_TYPES = {"regclass", "regtype", "regnamespace", "regproc", "regprocedure", "regrole",
             "regoper", "regconfig"}
TYPE_MAP = {"oid": "BIGINT", "name": "VARCHAR", '"char"': "VARCHAR", "char": "VARCHAR",
            "int2vector": "BIGINT[]", "oidvector": "BIGINT[]", "xid": "BIGINT",
            "text": "VARCHAR", "int2": "SMALLINT", "int4": "INTEGER", "int8": "BIGINT",
            "_text": "VARCHAR[]", "text[]": "VARCHAR[]", "name[]": "VARCHAR[]",
            "int2[]": "BIGINT[]", "oid[]": "BIGINT[]", "regtype[]": "VARCHAR[]",
            "pg_node_tree": "VARCHAR", "aclitem[]": "VARCHAR[]", "anyarray": "VARCHAR[]"}


def _type_name(dtype: exp.DataType) -> str:
    text = dtype.sql("postgres").lower()
    return text.replace("pg_catalog.", "")


_ARRAY_CASTS = re.compile(r"::\s*(?:pg_catalog\.)?(oid|int2|int4|int8|name|text|regtype|regclass)\[\]",
                          re.I)


def _array_cast(m: re.Match) -> str:
    return "::TEXT[]" if m.group(1).lower() in ("name", "text", "regtype", "regclass") \
        else "::BIGINT[]"


def rewrite(sql: str, pg_names: set[str], ctx: dict[str, str]) -> str:
    sql = _ARRAY_CASTS.sub(_array_cast, sql)  # sqlglot reads ``x::oid[]`` as a subscript
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError as e:
        from flowsql.errors import SqlParseError
        err = e.errors[0] if e.errors else {}
        raise SqlParseError(str(err.get("description") or e).splitlines()[0],
                            line=err.get("line") or 1, col=err.get("col") or 1) from None
    if not isinstance(tree, exp.Query):
        raise Refused(f"only queries are answered from the catalog, not "
                      f"{type(tree).__name__.upper()}")
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}

    def names(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            if node.db.lower() == "pg_catalog":  # a table function: pg_catalog.f()
                node.set("db", None)
            return _function_in_from(node)
        if isinstance(node, exp.Table):
            db = node.db.lower()
            name = node.name.lower()
            if db == "pg_catalog" or (not db and name in pg_names and name not in ctes):
                node.set("db", exp.to_identifier(PG_SCHEMA))
                node.set("catalog", None)
            elif db == "information_schema":
                node.set("db", exp.to_identifier(INFO_SCHEMA))
                node.set("catalog", None)
            return node
        if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier) \
                and node.this.name.lower() in ("pg_catalog", "information_schema") \
                and isinstance(node.expression,
                                                                           exp.Func):
            return node.expression
        if isinstance(node, exp.Collate):
            return node.this
        if isinstance(node, exp.Column) and node.args.get("db") is not None:
            db = node.db.lower()
            if db in ("pg_catalog", "information_schema"):
                node.set("db", exp.to_identifier(PG_SCHEMA if db == "pg_catalog"
                                                 else INFO_SCHEMA))
                node.set("catalog", None)
        return node

    def transform(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Operator):
            op = str(node.args.get("operator") or "").lower().replace("pg_catalog.", "")
            return _regex(op, node.this, node.expression) or node
        if isinstance(node, exp.Cast):
            return _cast(node)
        if isinstance(node, exp.CurrentSchema):
            return exp.Literal.string(ctx["schema"])
        if type(node).__name__ == "Format" and isinstance(node.this, exp.Literal):
            fmt = node.this.name.replace("%I", "%s").replace("%L", "'%s'")
            return exp.Anonymous(this="printf", expressions=[exp.Literal.string(fmt),
                                                             *node.expressions])
        if isinstance(node, exp.Anonymous) and node.name.lower() == "current_setting" \
                and node.expressions and isinstance(node.expressions[0], exp.Literal):
            key = node.expressions[0].name.lower()
            value = next((v for k, v in ctx.get("settings", {}).items() if k.lower() == key),
                         None)
            if value is not None:
                return exp.Literal.string(value)
        if type(node).__name__ in ("CurrentVersion", "Version"):
            return exp.Literal.string(ctx["version"])
        if type(node).__name__ in ("CurrentDatabase", "CurrentCatalog"):
            return exp.Literal.string(ctx["database"])
        if type(node).__name__ in ("SessionUser", "CurrentRole", "CurrentUser"):
            return exp.Literal.string(ctx["user"])
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name == "format" and node.expressions and isinstance(
                    node.expressions[0], exp.Literal):  # Postgres format() → printf
                fmt = node.expressions[0].name.replace("%I", "%s").replace("%L", "'%s'")
                return exp.Anonymous(this="printf", expressions=[exp.Literal.string(fmt),
                                                                 *node.expressions[1:]])
            if name in RENAMES:
                return exp.Anonymous(this=RENAMES[name], expressions=node.expressions)
            if name in ("version",):
                return exp.Literal.string(ctx["version"])
            if name in ("current_schema", "current_database", "session_user",
                        "current_user", "user"):
                key = {"current_schema": "schema", "current_database": "database"}.get(
                    name, "user")
                return exp.Literal.string(ctx[key])
        if isinstance(node, exp.Column) and not node.table and node.name.lower() in (
                "session_user", "current_user", "current_catalog", "user") and not node.this.quoted:
            return exp.Literal.string(ctx["database" if "catalog" in node.name else "user"])
        return node

    tree = _apply(tree, names)
    _name_outputs(tree)
    tree = _apply(tree, transform)
    return tree.sql("duckdb")


TABLE_FUNCTIONS = {"generate_series", "unnest", "range", "pg_get_keywords", "generate_subscripts"}


def _function_in_from(node: exp.Table) -> exp.Expression:
    """Postgres lets a scalar function stand in FROM (one row, the alias names the value) and
    names a set-returning function's column after the alias; DuckDB does neither."""
    func = node.this
    alias = node.args.get("alias")
    if not isinstance(func, exp.Func) or alias is None or alias.columns:
        return node
    name = (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()
    column = alias.name
    if name in ("generate_series", "unnest"):
        inner = exp.Table(this=func.copy())
        select = exp.select(exp.alias_(exp.column(name if name != "unnest" else "unnest"),
                                       column)).from_(inner)
        return select.subquery(column)
    if name in TABLE_FUNCTIONS:
        return node
    return exp.select(exp.alias_(func.copy(), column)).subquery(column)


def _apply(tree: exp.Expression, fn) -> exp.Expression:
    """Apply ``fn`` to every node, children before parents (a replaced node keeps its
    already rewritten children)."""
    for node in reversed(list(tree.walk())):
        new = fn(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _regex(op: str, left: exp.Expression, right: exp.Expression) -> exp.Expression | None:
    flags = {"~": None, "~*": "i", "!~": None, "!~*": "i"}
    if op not in flags:
        return None
    args = [left, right] + ([exp.Literal.string("i")] if flags[op] else [])
    call = exp.Anonymous(this="regexp_matches", expressions=args)
    return exp.Not(this=call) if op.startswith("!") else call


def _cast(node: exp.Cast) -> exp.Expression:
    to = node.args.get("to")
    if not isinstance(to, exp.DataType):
        return node
    name = _type_name(to)
    value = node.this
    if name in REG_TYPES:
        if isinstance(value, exp.Literal) and value.is_string:
            text = value.name
            if text.isdigit():
                return exp.Literal.number(int(text))
            return exp.Anonymous(this=f"fpg_{name}_oid", expressions=[value])
        if isinstance(value, exp.Literal):
            return value
        return exp.Anonymous(this=f"fpg_{name}_name", expressions=[value])
    if name in TYPE_MAP:
        if name in ("oid", "int4", "int8") and isinstance(value, exp.Anonymous) \
                and value.name.startswith("fpg_reg") and value.name.endswith("_name"):
            # ``expr::regclass::oid``: the name an expression gives, looked up as an oid
            lookup = value.name[: -len("_name")] + "_oid"
            arg = exp.Cast(this=value.expressions[0], to=exp.DataType.build("VARCHAR"))
            return exp.Anonymous(this=lookup, expressions=[arg])
        return exp.Cast(this=value, to=exp.DataType.build(TYPE_MAP[name], dialect="duckdb"))
    return node


def _output_name(node: exp.Expression) -> str | None:
    """Postgres' name for an unaliased output column: a function's or cast's name."""
    if isinstance(node, exp.Cast):
        inner = _output_name(node.this)
        return inner if inner != "?column?" else _type_name(node.args["to"]).split("(")[0]
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        name = node.sql_name().lower()
        return {"current_version": "version"}.get(name, name)
    if isinstance(node, exp.Literal | exp.Binary | exp.Boolean | exp.Null):
        return "?column?"
    return None


def _name_outputs(tree: exp.Expression) -> None:
    select = tree if isinstance(tree, exp.Select) else None
    if select is None:
        return
    for i, e in enumerate(select.expressions):
        if isinstance(e, exp.Alias | exp.Column | exp.Star):
            continue
        name = _output_name(e)
        if name:
            select.expressions[i] = exp.alias_(e, name, quoted=True)
