"""Parse one statement's text into a :mod:`flowsql.sql.statements` dataclass.

Contract:
- :func:`parse_one_statement` accepts every statement form FlowSQL knows (CREATE/DROP TABLE,
  VIEW, DATABASE; USE [CATALOG]; SHOW ...; SHOW CREATE; DESCRIBE; EXPLAIN; SET/RESET;
  INSERT INTO/OVERWRITE; EXECUTE STATEMENT SET; STOP JOB; queries) and raises
  :class:`SqlParseError` with the script line/column (offset by ``line``/``col``) otherwise.
  Constructs that are valid Flink but that FlowSQL cannot run still parse; later stages reject.
- :func:`parse_expression` and :func:`parse_query` parse a Flink SQL expression / query
  text with the ``flink`` dialect, raising :class:`SqlParseError`.

How: the statement *shell* (keywords, names, column lists, options) is parsed by hand from
sqlglot's Flink tokens (:mod:`flowsql.sql.cursor`); CREATE TABLE lives in
:mod:`flowsql.sql.ddl`. Every query, expression and type inside is cut out by character span
and handed to sqlglot / :func:`flowsql.types.parse_type`, so positions stay exact.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from flowsql.sql import statements as st
from flowsql.sql.cursor import Cursor, Origin, translate_sqlglot_error
from flowsql.sql.splitter import split

SUPPORTED = (
    "SELECT / WITH / VALUES, INSERT INTO|OVERWRITE, EXECUTE STATEMENT SET, "
    "CREATE [TEMPORARY] TABLE|VIEW, CREATE DATABASE, CREATE [TEMPORARY [SYSTEM]] FUNCTION, "
    "DROP TABLE|VIEW|DATABASE|FUNCTION, "
    "USE [CATALOG], SHOW ..., SHOW CREATE TABLE|VIEW, DESCRIBE, EXPLAIN, SET, RESET, STOP JOB"
)
_QUERY_START = ("SELECT", "WITH", "VALUES", "(")


# --- sqlglot entry points ---------------------------------------------------------------------


def _sqlglot(origin: Origin, text: str, base: int, into: type | None = None) -> exp.Expression:
    try:
        trees = sqlglot.parse(text, read="flink", into=into) if into else sqlglot.parse(text, read="flink")
    except ParseError as e:
        raise translate_sqlglot_error(origin, e, text, base) from None
    except RecursionError:  # e.g. thousands of nested parentheses: refuse, don't crash
        raise origin.error("the statement is nested too deeply to parse", base) from None
    except TokenError:
        from flowsql.sql.cursor import tokenize

        tokenize(origin, text, base)  # raises with the position of the unterminated token
        raise origin.error("cannot read the statement", base) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise origin.error("expected exactly one statement", base)
    return trees[0]


def query_at(origin: Origin, start: int, end: int) -> exp.Expression:
    """Parse ``origin.text[start:end]`` as a query (SELECT / WITH / VALUES / set operation)."""
    text = origin.text[start:end]
    first = text.lstrip("( \t\r\n").split(None, 1)
    if not first or first[0].upper() not in _QUERY_START:
        raise origin.error("expected a query (SELECT, WITH or VALUES)", start + len(text) - len(text.lstrip("( \t\r\n")))
    tree = _sqlglot(origin, text, start)
    if isinstance(tree, exp.Subquery) and isinstance(tree.this, exp.Query):
        tree = tree.this
    if not isinstance(tree, exp.Query | exp.Values):
        raise origin.error("expected a query (SELECT, WITH or VALUES)", start)
    return tree


def expression_at(origin: Origin, start: int, end: int) -> exp.Expression:
    """Parse ``origin.text[start:end]`` as a scalar expression."""
    text = origin.text[start:end]
    try:
        return sqlglot.parse_one(text, read="flink", into=exp.Condition)
    except ParseError:
        pass
    tree = _sqlglot(origin, f"SELECT {text}", start - len("SELECT "))
    projections = tree.expressions if isinstance(tree, exp.Select) else []
    if len(projections) != 1 or tree.args.get("from_") is not None:
        raise origin.error("expected one expression", start)
    return projections[0]


def parse_expression(text: str, *, line: int = 1, col: int = 1) -> exp.Expression:
    """A Flink SQL expression, e.g. a computed column or a watermark strategy."""
    origin = Origin(text, line, col)
    return expression_at(origin, 0, len(text))


def parse_query(text: str, *, line: int = 1, col: int = 1) -> exp.Expression:
    """A Flink SQL query (SELECT / WITH / VALUES / UNION ...)."""
    origin = Origin(text, line, col)
    stripped = text.rstrip().rstrip(";")
    return query_at(origin, 0, len(stripped))


# --- statements --------------------------------------------------------------------------------


def parse_one_statement(text: str, *, line: int = 1, col: int = 1) -> st.Statement:
    """Parse one statement (no trailing ``;`` needed); see the module contract."""
    body = text.rstrip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    origin = Origin(body, line, col)
    cur = Cursor(origin)
    if cur.at_end():
        raise origin.error("empty statement", 0)
    stmt = _dispatch(cur)
    return _with_text(stmt, text.strip(), line, col)


def _with_text(stmt: st.Statement, text: str, line: int, col: int) -> st.Statement:
    _script_positions(stmt, line, col)
    object.__setattr__(stmt, "text", text)
    object.__setattr__(stmt, "line", line)
    object.__setattr__(stmt, "col", col)
    return stmt


def _script_positions(stmt: object, line: int, col: int) -> None:
    """Make the identifiers' positions (sqlglot's ``meta``, relative to the statement) count
    from the top of the script, so planning errors name the line the user sees."""
    for attr in ("query", "statement", "inserts"):
        value = getattr(stmt, attr, None)
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if isinstance(v, exp.Expression):
                if v.meta.get("script_positions"):
                    continue
                v.meta["script_positions"] = True
                for ident in v.find_all(exp.Identifier):
                    if ident.meta.get("line"):
                        if ident.meta["line"] == 1:
                            ident.meta["col"] += col - 1
                        ident.meta["line"] += line - 1
            elif v is not None and not isinstance(v, str | int | float | bool):
                _script_positions(v, line, col)


def _dispatch(cur: Cursor) -> st.Statement:
    word = cur.word()
    handler = _HANDLERS.get(word)
    if handler is not None:
        return handler(cur)
    if word in _QUERY_START:
        return st.Query(query=query_at(cur.origin, *cur.rest()))
    cur.fail("unknown statement", hint=f"supported statements: {SUPPORTED}")
    raise AssertionError  # unreachable


def _done(cur: Cursor) -> None:
    if not cur.at_end():
        cur.fail("unexpected text at the end of the statement")


def _create(cur: Cursor) -> st.Statement:
    from flowsql.sql.ddl import parse_create_table

    cur.expect("CREATE")
    temporary = cur.accept("TEMPORARY")
    if cur.at("FUNCTION") or cur.at("SYSTEM", "FUNCTION"):
        from flowsql.sql.function_ddl import parse_create_function

        return parse_create_function(cur, temporary=temporary)
    if cur.at("TABLE"):
        return parse_create_table(cur, temporary=temporary)
    if cur.accept("VIEW"):
        return _create_view(cur, temporary)
    if not temporary and cur.accept("DATABASE"):
        if_not_exists = cur.accept("IF", "NOT", "EXISTS")
        name = cur.name("a database name")
        if len(name) > 2:
            cur.fail("a database name has at most 2 parts (catalog.database)", back=1)
        comment = cur.string() if cur.accept("COMMENT") else None
        _done(cur)
        return st.CreateDatabase(name=name, if_not_exists=if_not_exists, comment=comment)
    cur.fail("expected TABLE, VIEW, DATABASE or FUNCTION after CREATE")
    raise AssertionError


def _create_view(cur: Cursor, temporary: bool) -> st.CreateView:
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    name = cur.name("a view name")
    columns = cur.paren_names() if cur.word() == "(" else ()
    comment = cur.string() if cur.accept("COMMENT") else None
    cur.expect("AS")
    query = query_at(cur.origin, *cur.rest())
    return st.CreateView(
        name=name, query=query, column_names=columns, comment=comment,
        if_not_exists=if_not_exists, temporary=temporary,
    )


def _drop(cur: Cursor) -> st.Statement:
    cur.expect("DROP")
    temporary = cur.accept("TEMPORARY")
    if cur.at("FUNCTION") or cur.at("SYSTEM", "FUNCTION"):
        from flowsql.sql.function_ddl import parse_drop_function

        return parse_drop_function(cur, temporary=temporary)
    if cur.at("TABLE") or cur.at("VIEW"):
        kind = cur.word()
        cur.i += 1
        if_exists = cur.accept("IF", "EXISTS")
        name = cur.name(f"a {kind.lower()} name")
        _done(cur)
        cls = st.DropTable if kind == "TABLE" else st.DropView
        return cls(name=name, if_exists=if_exists, temporary=temporary)
    if not temporary and cur.accept("DATABASE"):
        if_exists = cur.accept("IF", "EXISTS")
        name = cur.name("a database name")
        cascade = cur.accept("CASCADE")
        if not cascade:
            cur.accept("RESTRICT")
        _done(cur)
        return st.DropDatabase(name=name, if_exists=if_exists, cascade=cascade)
    cur.fail("expected TABLE, VIEW, DATABASE or FUNCTION after DROP")
    raise AssertionError


def _use(cur: Cursor) -> st.Statement:
    cur.expect("USE")
    if cur.accept("CATALOG"):
        name = cur.identifier("a catalog name")
        _done(cur)
        return st.UseCatalog(name=name)
    name = cur.name("a database name")
    if len(name) > 2:
        cur.fail("a database name has at most 2 parts (catalog.database)", back=1)
    _done(cur)
    return st.UseDatabase(name=name)


def _show(cur: Cursor) -> st.Statement:
    cur.expect("SHOW")
    if cur.accept("CREATE"):
        kind = cur.word()
        if kind not in ("TABLE", "VIEW"):
            cur.fail("expected TABLE or VIEW after SHOW CREATE")
        cur.i += 1
        name = cur.name(f"a {kind.lower()} name")
        _done(cur)
        return st.ShowCreate(kind=kind, name=name)
    words: list[str] = []
    while not cur.at_end():
        words.append(cur.word() or cur.peek().text)  # type: ignore[union-attr]
        cur.i += 1
    if not words:
        cur.fail("expected what to show", hint="SHOW " + " | ".join(st.SHOW_KINDS))
    return st.Show(what=" ".join(words))


def _describe(cur: Cursor) -> st.Statement:
    cur.i += 1  # DESCRIBE | DESC
    name = cur.name("a table or view name")
    _done(cur)
    return st.Describe(name=name)


def _explain(cur: Cursor) -> st.Statement:
    cur.expect("EXPLAIN")
    cur.accept("PLAN", "FOR")
    if cur.at_end():
        cur.fail("expected a query, INSERT or statement set to explain")
    start = cur.offset()
    inner = Origin(cur.origin.text[start:], *cur.origin.position(start)[:2])
    inner_cur = Cursor(inner)
    # Flink writes EXPLAIN STATEMENT SET BEGIN ... END (no EXECUTE) as well
    stmt = _statement_set(inner_cur) if inner_cur.at("STATEMENT", "SET") else _dispatch(inner_cur)
    if not isinstance(stmt, st.Query | st.Insert | st.StatementSet):
        raise cur.origin.error("EXPLAIN takes a query, an INSERT or a statement set", start)
    return st.Explain(statement=_with_text(stmt, inner.text, inner.line, inner.col))


def _set(cur: Cursor) -> st.Statement:
    cur.expect("SET")
    if cur.at_end():
        return st.Set()
    key = _setting_text(cur, until_eq=True)
    if not cur.accept("="):
        cur.fail("expected '=' in SET 'key' = 'value'")
    value = _setting_text(cur, until_eq=False)
    _done(cur)
    return st.Set(key=key, value=value)


def _reset(cur: Cursor) -> st.Statement:
    cur.expect("RESET")
    if cur.at_end():
        return st.Reset()
    key = _setting_text(cur, until_eq=False)
    _done(cur)
    return st.Reset(key=key)


def _setting_text(cur: Cursor, *, until_eq: bool) -> str:
    """A SET key or value: a string literal, or (as the SQL client allows) raw text."""
    tok = cur.peek()
    if tok is not None and tok.token_type.name == "STRING":
        cur.i += 1
        return tok.text
    if tok is None or (until_eq and tok.text == "="):
        cur.fail("expected a quoted key or value")
    start = cur.i
    while not cur.at_end() and not (until_eq and cur.peek().text == "="):  # type: ignore[union-attr]
        cur.i += 1
    return cur.origin.text[cur.tokens[start].start : cur.tokens[cur.i - 1].end + 1].strip()


def _insert(cur: Cursor) -> st.Insert:
    cur.expect("INSERT")
    overwrite = cur.accept("OVERWRITE")
    if not overwrite:
        cur.expect("INTO")
    cur.accept("TABLE")
    target = cur.name("a table name")
    columns: tuple[str, ...] = ()
    if cur.word() == "(" and cur.word(1) not in _QUERY_START:
        columns = cur.paren_names()
    if cur.at_end():
        cur.fail("expected SELECT or VALUES after the INSERT target")
    query = query_at(cur.origin, *cur.rest())
    return st.Insert(target=target, query=query, columns=columns, overwrite=overwrite)


def _statement_set(cur: Cursor) -> st.StatementSet:
    if cur.accept("EXECUTE") or cur.at("STATEMENT", "SET"):  # the latter only after EXPLAIN
        cur.expect("STATEMENT", "SET")
        cur.expect("BEGIN")
    else:
        cur.expect("BEGIN", "STATEMENT", "SET")
        cur.accept(";")
    body_start = cur.offset()
    last = cur.tokens[-1] if cur.tokens else None
    if last is None or last.text.upper() != "END" or cur.at_end():
        cur.i = len(cur.tokens) - (1 if last is not None and last.text.upper() == "END" else 0)
        cur.fail("expected END to close the statement set")
    body_end = last.start
    body = cur.origin.text[body_start:body_end]
    inserts: list[st.Insert] = []
    for piece in split(body):
        offset = body_start + _offset_of(body, piece.line, piece.col)
        line, col, _ = cur.origin.position(offset)
        inner = Origin(piece.text, line, col)
        stmt = _dispatch(Cursor(inner))
        if not isinstance(stmt, st.Insert):
            raise cur.origin.error("a statement set holds only INSERT statements", offset)
        inserts.append(_with_text(stmt, piece.text, line, col))  # type: ignore[arg-type]
    if not inserts:
        raise cur.origin.error("a statement set needs at least one INSERT", body_end)
    cur.i = len(cur.tokens)
    return st.StatementSet(inserts=tuple(inserts))


def _offset_of(text: str, line: int, col: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset + col - 1


def _stop(cur: Cursor) -> st.StopJob:
    cur.expect("STOP", "JOB")
    job_id = cur.string("a quoted job id")
    savepoint = drain = False
    while cur.accept("WITH"):
        if cur.accept("SAVEPOINT"):
            savepoint = True
        elif cur.accept("DRAIN"):
            drain = True
        else:
            cur.fail("expected SAVEPOINT or DRAIN after WITH")
    _done(cur)
    return st.StopJob(job_id=job_id, with_savepoint=savepoint, with_drain=drain)


_HANDLERS = {
    "CREATE": _create,
    "DROP": _drop,
    "USE": _use,
    "SHOW": _show,
    "DESCRIBE": _describe,
    "DESC": _describe,
    "EXPLAIN": _explain,
    "SET": _set,
    "RESET": _reset,
    "INSERT": _insert,
    "EXECUTE": _statement_set,
    "BEGIN": _statement_set,
    "STOP": _stop,
}
