"""The ``flowsql`` command line (typer).

Contract:
- ``flowsql shell [-i/--init FILE] [-f/--file FILE] [--verbose] [--home DIR]
  [--catalog persistent|memory]`` runs the SQL shell embedded in this process (``flowsql``
  alone does the same with the defaults); ``--catalog memory`` starts the session with
  ``table.catalog.default.kind = memory`` (an in-memory default catalog, as Flink's, so a
  script that begins with CREATE TABLE can be rerun); an invalid value is an error (exit 1):
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
  ``--gateway URL [--token T]`` runs every statement on a SQL gateway over Flink's REST API
  (:class:`flowsql.shell.remote_session.RemoteSession`): the same prompt, errors and live
  results; queries are shown live; Ctrl-C cancels the remote operation. With
  ``--jobmanager`` it is a usage error (exit 2).
  ``--jobmanager HOST:PORT`` sends streaming jobs to a cluster (the session starts with
  ``execution.target = remote`` and ``jobmanager.address``); jobs there outlive the shell.
- ``flowsql jobmanager [--bind HOST] [--port 6123] [--rest-port 8081] [--advertise HOST]
  [--heartbeat-interval S] [--heartbeat-timeout S] [--home DIR]`` and ``flowsql taskmanager
  --jobmanager HOST:PORT [--slots N] [--bind HOST] [--data-port P] [--advertise HOST] [--id ID]``
  run one cluster process in the foreground until SIGTERM/SIGINT
  (:mod:`flowsql.runtime.cluster.serve`).
- ``flowsql cluster start [--taskmanagers N] [--slots M] [--port P] [--rest-port P]``,
  ``flowsql cluster stop``, ``flowsql cluster status``: a local cluster of background
  processes with pid files and logs under ``$FLOWSQL_HOME``
  (:mod:`flowsql.runtime.cluster.launcher`); errors exit 1 with one clear message.
- ``flowsql gateway [--bind 127.0.0.1] [--port 8083] [--pg-port 5432] [--jobmanager HOST:PORT]
  [--tokens-file F] [--users-file F] [--insecure] [--ssl-certfile F --ssl-keyfile F]
  [--rest-versions v1,v2,v3,v4] [--idle-timeout 10min] [--pg-auth-method scram-sha-256]
  [--home DIR]`` runs the SQL gateway in
  the foreground until SIGTERM/SIGINT (:mod:`flowsql.gateway.server`). A non-loopback
  ``--bind`` without tokens or users, or a bad option value, exits 2 with one message.
- ``flowsql dev kafka [--port 9092] [--dir D] [--topic NAME[:PARTITIONS]]...`` runs a
  single-node Kafka broker on 127.0.0.1 in the foreground (:mod:`connectors.kafka.broker`),
  creating the given topics, prints its bootstrap address and stops it (by pid) on Ctrl-C or
  SIGTERM.
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
from flowsql.errors import FlowSQLError, ValidationError
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
    jobmanager: str | None = None,
    gateway: str | None = None,
    token: str | None = None,
    catalog: str | None = None,
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
        if gateway is not None:
            from flowsql.shell.remote_session import RemoteSession

            session = RemoteSession(gateway, token)
        else:
            from flowsql.config import CATALOG_KIND

            session = Session(home=Path(os.environ["FLOWSQL_HOME"]) if home is not None else None,
                              config={CATALOG_KIND: catalog} if catalog else None)
    except Exception as error:  # noqa: BLE001 - shown as an error, never a traceback
        renderer.error(error)
        return EXIT_ERROR
    if jobmanager is not None:
        session.config.set("execution.target", "remote")
        session.config.set("jobmanager.address", jobmanager)
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
        typer.Option("--gateway", help="Run statements on the SQL gateway at this URL."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="FLOWSQL_GATEWAY_TOKEN",
                     help="Bearer token for the gateway (or $FLOWSQL_GATEWAY_TOKEN)."),
    ] = None,
    jobmanager: Annotated[
        str | None,
        typer.Option("--jobmanager", help="Run streaming jobs on the cluster at HOST:PORT."),
    ] = None,
    catalog: Annotated[
        str | None,
        typer.Option("--catalog", metavar="persistent|memory",
                     help="Default catalog: 'persistent' ($FLOWSQL_HOME/catalog.db, the default) "
                     "or 'memory' (Flink's in-memory catalog: scripts that CREATE TABLE can be "
                     "rerun). Same as SET 'table.catalog.default.kind'."),
    ] = None,
) -> None:
    """Open the SQL shell (embedded, on a cluster with --jobmanager, or over a gateway)."""
    if gateway is not None and jobmanager is not None:
        error = ValidationError(
            "--gateway and --jobmanager exclude each other",
            hint="the gateway decides where jobs run (flowsql gateway --jobmanager HOST:PORT)",
        )
        Renderer(make_console(sys.stderr)).error(error)
        raise typer.Exit(EXIT_USAGE)
    if catalog is not None and gateway is not None:
        error = ValidationError("--catalog and --gateway exclude each other",
                                hint="the gateway's sessions keep their own catalog; use "
                                "SET 'table.catalog.default.kind' = 'memory' there")
        Renderer(make_console(sys.stderr)).error(error)
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(run_shell(init=init, file=file, verbose=verbose, home=home,
                               jobmanager=jobmanager, gateway=gateway, token=token,
                               catalog=catalog))


def _home(home: Path | None) -> Path:
    if home is not None:
        os.environ["FLOWSQL_HOME"] = str(home.expanduser().resolve())
    from flowsql.config import flowsql_home

    return flowsql_home()


HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="FlowSQL home directory (default $FLOWSQL_HOME or ~/.flowsql)."),
]


@app.command()
def jobmanager(
    bind: Annotated[str, typer.Option("--bind", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Control port (Arrow Flight).")] = 6123,
    rest_port: Annotated[int, typer.Option("--rest-port", help="REST API, dashboard, /metrics.")] = 8081,
    advertise: Annotated[
        str | None, typer.Option("--advertise", help="Address others reach this process at.")
    ] = None,
    heartbeat_interval: Annotated[
        float, typer.Option("--heartbeat-interval", help="Seconds between TaskManager heartbeats.")
    ] = 1.0,
    heartbeat_timeout: Annotated[
        float, typer.Option("--heartbeat-timeout", help="Seconds of silence before a TaskManager is lost.")
    ] = 10.0,
    home: HomeOption = None,
) -> None:
    """Run a JobManager in the foreground."""
    from flowsql.runtime.cluster.serve import run_jobmanager

    _guarded(lambda: run_jobmanager(_home(home), bind=bind, port=port, rest_port=rest_port,
                                    advertise=advertise, heartbeat_interval=heartbeat_interval,
                                    heartbeat_timeout=heartbeat_timeout))


@app.command()
def taskmanager(
    jobmanager: Annotated[str, typer.Option("--jobmanager", help="The JobManager's HOST:PORT.")],
    slots: Annotated[int, typer.Option("--slots", help="Task slots (threads).")] = 1,
    bind: Annotated[str, typer.Option("--bind", help="Address to listen on.")] = "127.0.0.1",
    data_port: Annotated[int, typer.Option("--data-port", help="Data exchange port (0 = any free).")] = 6124,
    advertise: Annotated[
        str | None, typer.Option("--advertise", help="Address others reach this process at.")
    ] = None,
    tm_id: Annotated[str | None, typer.Option("--id", help="TaskManager id (default: random).")] = None,
    home: HomeOption = None,
) -> None:
    """Run a TaskManager in the foreground."""
    from flowsql.runtime.cluster.serve import run_taskmanager

    _guarded(lambda: run_taskmanager(_home(home), jobmanager=jobmanager, slots=slots, bind=bind,
                                     data_port=data_port, advertise=advertise, tm_id=tm_id))


@app.command()
def gateway(
    bind: Annotated[str, typer.Option("--bind", help="Address to listen on (REST and Postgres).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="REST port, Flink's SQL Gateway API (0 = any free).")] = 8083,
    pg_port: Annotated[int, typer.Option("--pg-port", help="Postgres wire port (0 = off).")] = 5432,
    jobmanager: Annotated[
        str | None, typer.Option("--jobmanager", help="Run jobs on the cluster at HOST:PORT (default: embedded).")
    ] = None,
    tokens_file: Annotated[
        str | None, typer.Option("--tokens-file", help="Bearer tokens, one per line (also $FLOWSQL_GATEWAY_TOKENS).")
    ] = None,
    users_file: Annotated[
        str | None, typer.Option("--users-file", help="Postgres users, 'user:password' per line.")
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow a non-loopback --bind without authentication.")
    ] = False,
    ssl_certfile: Annotated[str | None, typer.Option("--ssl-certfile", help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option("--ssl-keyfile", help="TLS private key (PEM).")] = None,
    rest_versions: Annotated[
        str, typer.Option("--rest-versions", help="REST API versions to advertise, e.g. v1,v2,v3.")
    ] = "v1,v2,v3,v4",
    idle_timeout: Annotated[
        str, typer.Option("--idle-timeout", help="Close sessions idle this long (10min, 30s; 0 = never).")
    ] = "10min",
    pg_auth_method: Annotated[
        str, typer.Option("--pg-auth-method",
                          help="How Postgres users log in: scram-sha-256, md5 or password.")
    ] = "scram-sha-256",
    home: HomeOption = None,
) -> None:
    """Run the SQL gateway (Flink's SQL Gateway REST API, Postgres wire) in the foreground."""
    from flowsql.gateway.server import GatewayOptions, check_options, parse_duration, run_gateway

    try:  # refusals of the configuration are usage errors (exit 2), before anything starts
        opts = GatewayOptions(
            home=_home(home), bind=bind, port=port, pg_port=pg_port, jobmanager=jobmanager,
            tokens_file=tokens_file, users_file=users_file, insecure=insecure,
            ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, rest_versions=rest_versions,
            idle_timeout_s=parse_duration(idle_timeout), pg_auth_method=pg_auth_method)
        check_options(opts)
    except FlowSQLError as error:
        Renderer(make_console(sys.stderr)).error(error)
        raise typer.Exit(EXIT_USAGE) from None
    _guarded(lambda: run_gateway(opts))


cluster_app = typer.Typer(help="A local cluster: one JobManager and TaskManagers in the background.",
                          no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("start")
def cluster_start(
    taskmanagers: Annotated[int, typer.Option("--taskmanagers", help="How many TaskManagers.")] = 1,
    slots: Annotated[int, typer.Option("--slots", help="Slots per TaskManager.")] = 1,
    port: Annotated[int, typer.Option("--port", help="JobManager control port (0 = any free).")] = 6123,
    rest_port: Annotated[int, typer.Option("--rest-port", help="REST port (0 = any free).")] = 8081,
    home: HomeOption = None,
) -> None:
    """Start a JobManager and TaskManagers as background processes."""
    from flowsql.runtime.cluster import launcher

    info = _guarded(lambda: launcher.start(_home(home), taskmanagers=taskmanagers, slots=slots,
                                           port=port, rest_port=rest_port), exit_on_ok=False)
    typer.echo(f"JobManager at {info.address} with {taskmanagers} TaskManager(s) x {slots} slot(s)")
    if info.rest_port:
        typer.echo(f"Web dashboard: http://127.0.0.1:{info.rest_port}/")
    typer.echo(f"Connect a shell: flowsql shell --jobmanager {info.address}")


@cluster_app.command("stop")
def cluster_stop(home: HomeOption = None) -> None:
    """Stop the local cluster's processes (SIGTERM, then SIGKILL after 8 s)."""
    from flowsql.runtime.cluster import launcher

    outcome = launcher.stop(_home(home))
    if not outcome:
        typer.echo("No cluster processes to stop.")
    for name, how in outcome.items():
        typer.echo(f"{name}: {how}")


@cluster_app.command("status")
def cluster_status(home: HomeOption = None) -> None:
    """Show the local cluster's processes, TaskManagers and slots."""
    from flowsql.runtime.cluster import launcher

    info = launcher.status(_home(home))
    if not info["processes"]:
        typer.echo("No cluster processes under this home.")
    for name, p in info["processes"].items():
        typer.echo(f"{name}: pid {p['pid']} {'running' if p['alive'] else 'not running'}")
    jm = info.get("jobmanager")
    if jm:
        typer.echo(f"JobManager {jm['address']}: {len(jm['taskmanagers'])} TaskManager(s), "
                   f"{jm['slots_free']}/{jm['slots_total']} slots free")
    elif info.get("error"):
        typer.echo(f"JobManager not reachable: {info['error']}")
    if any(not p["alive"] for p in info["processes"].values()) or info.get("error"):
        raise typer.Exit(EXIT_ERROR)


def _guarded(fn, *, exit_on_ok: bool = True):  # type: ignore[no-untyped-def]
    """Run a command body; a FlowSQLError is printed as one message with exit code 1."""
    try:
        result = fn()
    except FlowSQLError as error:
        Renderer(make_console(sys.stderr)).error(error)
        raise typer.Exit(EXIT_ERROR) from None
    if exit_on_ok:
        raise typer.Exit(result if isinstance(result, int) else EXIT_OK)
    return result


dev_app = typer.Typer(help="Local services for trying FlowSQL.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")


@dev_app.command("kafka")
def dev_kafka(
    port: Annotated[int, typer.Option("--port", help="Broker port on 127.0.0.1 (0 = any free).")] = 9092,
    dir: Annotated[Path | None, typer.Option("--dir", help="Working folder (data and broker.log); "
                                             "default: a temporary one, removed at exit.")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Create a topic once the broker "
                                                    "is up: NAME or NAME:PARTITIONS (repeatable).")] = None,
) -> None:
    """Run a single-node Kafka broker on 127.0.0.1 in the foreground (Ctrl-C stops it)."""
    import signal
    import time

    from connectors.kafka import broker as kafka_broker

    typer.echo("Starting Kafka (KRaft, single node)...")
    running = _guarded(lambda: kafka_broker.start(port=port, dir=dir), exit_on_ok=False)
    try:
        created = kafka_broker.create_topics(running.bootstrap, list(topic or []))
    except FlowSQLError as error:
        running.stop()
        Renderer(make_console(sys.stderr)).error(error)
        raise typer.Exit(EXIT_ERROR) from None
    typer.echo(f"Kafka is ready: 'properties.bootstrap.servers' = '{running.bootstrap}'")
    if created:
        typer.echo("Topics: " + ", ".join(created))
    typer.echo(f"Broker pid {running.pid}, log {running.log}. Press Ctrl-C to stop.")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while running.alive():
            time.sleep(0.5)
        typer.echo("The broker exited; see " + str(running.log), err=True)
        code = EXIT_ERROR
    except KeyboardInterrupt:
        code = EXIT_OK
    finally:
        typer.echo(f"Kafka {running.stop()}.")
    raise typer.Exit(code)


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
