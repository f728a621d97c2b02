"""The ``flowsql`` command line (typer).

Contract:
- ``flowsql shell [-i/--init FILE] [-f/--file FILE] [--verbose] [--home DIR]`` runs the SQL
  shell embedded in this process (``flowsql`` alone does the same with the defaults):
  1. ``--home`` sets ``FLOWSQL_HOME`` for the process (catalog, history, state live there);
  2. ``-i`` runs a script first (results printed, statements not echoed); an error there
     stops with exit code 1;
  3. ``-f`` runs a script non-interactively — each statement echoed as ``FlowSQL> …`` then
     its result — and exits 0, or 1 at the first error (printed on stderr); no prompt is
     created. Before exiting it waits for the jobs the script's INSERTs submitted and prints
     their final states (exit 1 if one FAILED; :mod:`flowsql.shell.jobs`); a streaming
     SELECT prints its rows in tableau mode. Without ``-f``, a stdin that is not a terminal
     is run the same way;
  4. otherwise the interactive prompt (:class:`flowsql.shell.repl.Repl`) opens.
  ``--gateway URL`` is reserved for the remote mode and exits 2 with "not supported yet".
- ``flowsql version`` prints the version of FlowSQL and of the engines it runs on.
- Errors are printed as their ``render()`` text, never as a traceback unless ``--verbose``;
  the engine's log records go to ``$FLOWSQL_HOME/log/flowsql.log`` (:mod:`flowsql.shell.logs`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from flowsql import __version__
from flowsql.errors import FlowSQLError, NotSupportedError
from flowsql.shell.render import Renderer, make_console

app = typer.Typer(
    name="flowsql",
    help="FlowSQL: a SQL-first streaming database (Flink SQL, Arrow, DuckDB).",
    add_completion=False,
    invoke_without_command=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _read_script(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise FlowSQLError(f"cannot read script '{path}': {reason}") from None


def run_shell(
    *,
    init: Path | None = None,
    file: Path | None = None,
    verbose: bool = False,
    home: Path | None = None,
) -> int:
    """Run the shell as ``flowsql shell`` does (see module contract); returns the exit code."""
    if home is not None:
        os.environ["FLOWSQL_HOME"] = str(home.expanduser().resolve())
    interactive = file is None and sys.stdin.isatty()
    out = make_console(sys.stdout)
    renderer = Renderer(out, out if interactive else make_console(sys.stderr), verbose=verbose)

    from flowsql.session import Session
    from flowsql.shell.runner import Runner

    try:
        session = Session(home=Path(os.environ["FLOWSQL_HOME"]) if home is not None else None)
    except Exception as error:  # noqa: BLE001 - shown as an error, never a traceback
        renderer.error(error)
        return EXIT_ERROR
    from flowsql.shell.logs import configure_logging

    configure_logging(session.home, verbose=verbose)  # engine logs to a file, not the screen
    try:
        if init is not None:
            outcome = Runner(session, renderer, echo=False).run_text(_read_script(init))
            if not outcome.ok:
                return EXIT_ERROR
            if outcome.quit:
                return EXIT_OK
        if file is not None or not interactive:
            text = _read_script(file) if file is not None else sys.stdin.read()
            outcome = Runner(session, renderer, echo=True).run_text(text)
            return EXIT_OK if outcome.ok else EXIT_ERROR
        from flowsql.shell.repl import Repl

        return Repl(session, renderer).run()
    except FlowSQLError as error:
        renderer.error(error)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        try:
            session.close()
        except Exception:  # noqa: BLE001 - closing must not hide the exit code
            pass


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Without a command, open the shell."""
    if ctx.invoked_subcommand is None:
        raise typer.Exit(run_shell())


@app.command()
def shell(
    init: Annotated[
        Path | None,
        typer.Option("-i", "--init", help="Run this SQL script before the prompt opens."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("-f", "--file", help="Run this SQL script and exit (1 at the first error)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Print Python tracebacks with errors.")
    ] = False,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="FlowSQL home directory (default $FLOWSQL_HOME or ~/.flowsql)."),
    ] = None,
    gateway: Annotated[
        str | None,
        typer.Option("--gateway", help="Connect to a FlowSQL gateway at this URL (reserved)."),
    ] = None,
) -> None:
    """Open the SQL shell (embedded mode)."""
    if gateway is not None:
        error = NotSupportedError(
            f"connecting the shell to a gateway (--gateway {gateway})",
            hint="run `flowsql shell` without --gateway to use the embedded engine",
        )
        Renderer(make_console(sys.stderr)).error(error)
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(run_shell(init=init, file=file, verbose=verbose, home=home))


@app.command()
def version() -> None:
    """Print the versions of FlowSQL and the engines it runs on."""
    import duckdb
    import pyarrow
    import sqlglot

    typer.echo(f"FlowSQL {__version__}")
    typer.echo(
        f"Python {sys.version.split()[0]}, sqlglot {sqlglot.__version__}, "
        f"DuckDB {duckdb.__version__}, pyarrow {pyarrow.__version__}"
    )


def main() -> None:
    """Console-script entry point (``flowsql``) and ``python -m flowsql``."""
    app(prog_name="flowsql")
