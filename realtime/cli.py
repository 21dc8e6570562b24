"""``progress-hub``: run the hub and sign tokens (``PROTOCOL.md`` section 6).

Exit codes: 0 success, 1 the hub could not start or the command failed (one line on stderr
says why), 2 a usage error (a bad or missing flag).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from realtime.auth import DEFAULT_TOKEN_TTL_S, MAX_SUB_LENGTH, Role, issue_token
from realtime.cli_alerts import add_alert_arguments, alerting_of
from realtime.logs import configure_logging
from realtime.settings import (
    DEFAULT_DB_PATH,
    DEFAULT_HOST,
    DEFAULT_PORT,
    RETENTION_ENV,
    ConfigError,
    Durability,
    Settings,
    parse_retention_days,
    resolve_secret,
    retention_from_env,
)
from storage.errors import StorageError

PROG = "progress-hub"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
MAX_TOKEN_TTL_S = 366 * 24 * 3600


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {port}")
    return port


def _ttl(value: str) -> int:
    try:
        ttl = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid ttl {value!r}") from None
    if not 1 <= ttl <= MAX_TOKEN_TTL_S:
        raise argparse.ArgumentTypeError(f"ttl must be 1-{MAX_TOKEN_TTL_S} seconds")
    return ttl


def _retention_days(value: str) -> float:
    try:
        return parse_retention_days(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _sub(value: str) -> str:
    if not value or len(value) > MAX_SUB_LENGTH:
        raise argparse.ArgumentTypeError(f"sub must be 1-{MAX_SUB_LENGTH} characters")
    return value


def _database_option(command: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--db PATH``: every command works on one SQLite file, the same one unless told."""
    command.add_argument("--db", type=Path, default=DEFAULT_DB_PATH, metavar="PATH", help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Real-time progress hub for therapy platforms.",
        epilog="The signing secret comes from PROGRESS_HUB_SECRET, else from a file "
        "beside the database (created on first use, mode 0600).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="run the hub", description="Run the hub.")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"bind address (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})"
    )
    _database_option(serve, f"SQLite database file (default ./{DEFAULT_DB_PATH})")
    serve.add_argument(
        "--synchronous",
        choices=("NORMAL", "FULL", "EXTRA"),
        default="FULL",
        help="SQLite synchronous mode; FULL (default) makes every ack survive power loss",
    )
    serve.add_argument(
        "--retention-days",
        type=_retention_days,
        default=None,
        metavar="DAYS",
        help="purge raw events dated more than DAYS ago once a snapshot holds their figures "
        f"(default: ${RETENTION_ENV}, else keep every event); figures never change",
    )
    add_alert_arguments(serve)
    serve.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="log level (default info)",
    )

    token = commands.add_parser(
        "token",
        help="print a signed token",
        description="Print a token signed with the hub's secret.",
    )
    token.add_argument("--role", required=True, choices=[role.value for role in Role])
    token.add_argument("--sub", required=True, type=_sub, help="the principal's id")
    token.add_argument(
        "--ttl",
        type=_ttl,
        default=DEFAULT_TOKEN_TTL_S,
        metavar="SECONDS",
        help=f"lifetime in seconds (default {DEFAULT_TOKEN_TTL_S})",
    )
    _database_option(token, "the database whose secret signs the token (default ./var/progress.db)")
    export = commands.add_parser(
        "export",
        help="write every patient, event and mark as JSON Lines",
        description="Write the database as JSON Lines (a backup); works beside a running hub.",
    )
    _database_option(export)
    export.add_argument(
        "--out", "-o", default="-", metavar="FILE", help="where to write (default: stdout)"
    )

    restore = commands.add_parser(
        "import",
        help="add patients, events and marks from a JSON Lines export (idempotent)",
        description="Add what an export holds; ids already stored are skipped as duplicates. "
        "The hub must be stopped (it holds the database); bad lines are reported and skipped.",
    )
    restore.add_argument("file", help="the export to read ('-' for stdin)")
    _database_option(restore)
    simulate = commands.add_parser(
        "simulate",
        help="stream a simulated practice to a hub (docs/clients.md)",
        description="Register simulated patients of a therapist and stream their events.",
    )
    simulate.add_argument("--url", default=f"ws://{DEFAULT_HOST}:{DEFAULT_PORT}/ws")
    simulate.add_argument("--therapist", required=True, type=_sub, metavar="ID")
    simulate.add_argument("--patients", type=int, default=8, metavar="N")
    simulate.add_argument("--rate", type=float, default=5.0, metavar="EVENTS_PER_S")
    simulate.add_argument("--seconds", type=float, default=None, metavar="S")
    simulate.add_argument("--seed", type=int, default=None)
    simulate.add_argument("--token", default=None, help="a service token (default: sign one)")
    _database_option(simulate)
    return parser


async def _export(args: argparse.Namespace) -> int:
    from storage.backup import export_jsonl
    from storage.store import SqliteStore

    store = SqliteStore(args.db, read_only=True)
    try:
        await store.open()
    except StorageError as error:
        return _fail(str(error))
    try:
        purged = await store.purged_events()
        if args.out == "-":
            lines = await export_jsonl(store, sys.stdout)
        else:
            with open(args.out, "w", encoding="utf-8") as out:
                lines = await export_jsonl(store, out)
    except OSError as error:
        return _fail(f"cannot write {args.out}: {error.strerror}")
    finally:
        await store.close()
    print(f"{PROG}: exported {lines} lines", file=sys.stderr)
    if purged:
        print(
            f"{PROG}: note: {purged} older events were purged under retention and are not in "
            "this export; their figures live in the database's snapshot, so for a complete "
            "copy use SQLite's online backup (docs/storage.md)",
            file=sys.stderr,
        )
    return EXIT_OK


async def _import(args: argparse.Namespace) -> int:
    from storage.backup import import_jsonl
    from storage.store import SqliteStore

    try:
        source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        return _fail(f"cannot read {args.file}: {error.strerror}")
    store = SqliteStore(args.db)
    try:
        await store.open()
    except StorageError as error:
        source.close()
        return _fail(f"{error}; stop it first, or POST the events to /api/v1/events")
    try:
        with source:
            report = await import_jsonl(store, source)
    finally:
        await store.close()
    for problem in report.errors:
        print(f"{PROG}: {problem}", file=sys.stderr)
    print(
        f"{PROG}: imported {report.patients} patients, {report.events} events "
        f"({report.duplicates} duplicates skipped), {report.marks} marks, {report.alerts} alerts; "
        f"{len(report.errors)} lines rejected",
        file=sys.stderr,
    )
    return EXIT_FAILURE if report.errors else EXIT_OK


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_FAILURE


def run_token(args: argparse.Namespace) -> int:
    try:
        secret = resolve_secret(args.db, create=True)
    except ConfigError as error:
        return _fail(str(error))
    print(issue_token(secret, Role(args.role), args.sub, args.ttl, datetime.now(UTC)))
    return EXIT_OK


async def _serve(settings: Settings, log_level: str) -> int:
    from realtime import tuning
    from realtime.app import create_app
    from realtime.server import HubServer
    from realtime.serving import serving_config

    app = create_app(settings)
    runtime = app.state.runtime
    try:
        await runtime.start()
    except StorageError as error:
        return _fail(str(error))
    # What start-up built lives as long as the process: move it out of the collector's sight
    # so no later full collection walks every tracker again (this process owns the heap; an
    # app embedded elsewhere is left alone).
    gc.collect()
    gc.freeze()
    tuning.tune_process()  # later survivors too, and a shorter GIL switch (tuning.py: why)
    config = serving_config(
        app,
        settings.port,
        host=settings.host,
        limits=settings.limits,
        timers=settings.timers,
        log_level=log_level,
    )
    server = HubServer(config, runtime)
    try:
        await server.serve()
    finally:
        await runtime.stop()
    return EXIT_OK if server.started or not server.should_exit else EXIT_FAILURE


def run_serve(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        secret = resolve_secret(args.db, create=True)
        retention_days = (
            args.retention_days if args.retention_days is not None else retention_from_env()
        )
        alerting = alerting_of(args)
    except ConfigError as error:
        return _fail(str(error))
    settings = Settings(
        secret=secret,
        host=args.host,
        port=args.port,
        db_path=args.db,
        durability=Durability(synchronous=args.synchronous, retention_days=retention_days),
        alerting=alerting,
    )
    if retention_days is not None:
        logging.getLogger("progress_hub.retention").info(
            "event=retention_enabled days=%g", retention_days
        )
    try:
        import uvloop

        runner: Any = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported OS
        runner = asyncio.Runner()
    with runner:
        result: int = runner.run(_serve(settings, args.log_level))
    return result


def run_simulate(args: argparse.Namespace) -> int:
    from clients.simulator import Simulation, simulate

    if args.patients < 1 or not args.rate > 0 or (args.seconds is not None and args.seconds <= 0):
        print(f"{PROG}: error: --patients, --rate and --seconds must be above 0", file=sys.stderr)
        return EXIT_USAGE
    try:
        token = args.token or issue_token(
            resolve_secret(args.db, create=True),
            Role.SERVICE,
            "simulator",
            86_400,
            datetime.now(UTC),
        )
    except ConfigError as error:
        return _fail(str(error))
    simulation = Simulation(
        url=args.url, token=token, therapist_id=args.therapist, patients=args.patients,
        rate=args.rate, seconds=args.seconds, seed=args.seed,
    )  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(simulate(simulation))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "simulate":
        return run_simulate(args)
    if args.command == "token":
        return run_token(args)
    if args.command == "export":
        return asyncio.run(_export(args))
    if args.command == "import":
        return asyncio.run(_import(args))
    return run_serve(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
