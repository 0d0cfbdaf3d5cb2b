"""The console script ``agentbox-telemetry``: the one edge that knows both sides.

Settings are built here from flags and the environment, once, and passed down. Every known
failure becomes one line on stderr and a non-zero exit code, never a traceback. Heavy imports
(Dash, pandas, the ingest pipeline) happen inside the command that needs them, so ``report``
starts fast.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ingestor import config

app = typer.Typer(
    name="agentbox-telemetry",
    help="Observability for OpenClaw agents: ingest transcripts, serve the dashboard, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $TELEMETRY_DB_URL, else a SQLite file in the user data dir).",
        show_default=False,
    ),
]


class UserError(Exception):
    """Something the user can fix; printed as one line."""


def _env() -> dict[str, str]:
    return config.environment()


def _db_url(db: str | None) -> str:
    return db or config.default_db_url(_env())


def _engine(url: str) -> Any:
    from ingestor.db import make_engine

    return make_engine(url)


# --- db -------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    db: DbOpt = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or upgrade the schema to the latest revision."""
    from ingestor import migrate
    from ingestor.db import describe

    url = _db_url(db)
    migrate.upgrade(_engine(url), revision)
    typer.echo(f"database {describe(url)} is at revision {migrate.current_revision(_engine(url))}")


# ``-1`` (one revision down) is an argument, not an unknown option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
    db: DbOpt = None,
) -> None:
    """Downgrade the schema (keeps nothing the dropped revisions added)."""
    from ingestor import migrate

    url = _db_url(db)
    migrate.downgrade(_engine(url), revision)
    typer.echo(f"database is at revision {migrate.current_revision(_engine(url)) or 'base'}")


@db_app.command("current")
def db_current(db: DbOpt = None) -> None:
    """Print the schema revision of the database and the newest one known."""
    from ingestor import migrate

    eng = _engine(_db_url(db))
    typer.echo(
        f"current: {migrate.current_revision(eng) or 'none'}  head: {migrate.head_revision()}"
    )


# --- ingest ---------------------------------------------------------------------------------


@app.command()
def ingest(
    db: DbOpt = None,
    source: Annotated[
        list[Path] | None,
        typer.Option(
            "--source",
            help="OpenClaw state dir, sessions dir, log dir or file "
            "(repeatable; default: $OPENCLAW_STATE_DIR or ~/.openclaw, ~/.clawdbot, "
            "~/.moltbot, ~/.moldbot, ~/.openclaw-*, plus $OPENCLAW_LOG_DIR or /tmp/openclaw "
            "and $TMPDIR/openclaw-<uid>).",
        ),
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Keep running: follow new lines.")] = False,
    host_id: Annotated[
        str | None,
        typer.Option(
            "--host-id", help="Host id on every row (default: $TELEMETRY_HOST_ID or the hostname)."
        ),
    ] = None,
    polling: Annotated[
        bool, typer.Option("--polling", help="Watch by polling (Docker bind mounts, NFS).")
    ] = False,
    rescan: Annotated[
        float, typer.Option("--rescan", help="Seconds between full rescans in watch mode.")
    ] = 30.0,
    prices: Annotated[
        Path | None,
        typer.Option("--prices", help="Price overrides TOML file (default: $TELEMETRY_PRICES)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    bulk_min_mb: Annotated[
        float,
        typer.Option(
            "--bulk-min-mb",
            help="A first ingest of at least this many MB into an empty SQLite database "
            "builds its secondary indexes once at the end (negative: never).",
        ),
    ] = config.BULK_MIN_BYTES / (1 << 20),
) -> None:
    """Read every new transcript line into the database (once, or continuously with --watch)."""
    env = _env()
    url = _db_url(db)
    sources = (
        tuple(source) if source else tuple(config.default_sources(env, Path.home(), os.getuid()))
    )
    if not sources:
        raise UserError(
            "no OpenClaw state dir found (looked at $OPENCLAW_STATE_DIR, ~/.openclaw, "
            "~/.clawdbot, ~/.moltbot, ~/.openclaw-*): pass --source PATH"
        )
    # A source named on purpose (--source, $OPENCLAW_STATE_DIR, $OPENCLAW_LOG_DIR) that does
    # not exist is a typo for one pass; a daemon waits for it (OpenClaw may not have run yet).
    missing = [p for p in sources if not p.exists()]
    if missing and not watch:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UserError(f"source {missing[0]} does not exist{more}")
    for p in missing:
        typer.echo(
            f"warning: source {p} does not exist yet; looked for again every {rescan:g} s",
            err=True,
        )
    price_file = prices or (Path(env["TELEMETRY_PRICES"]) if env.get("TELEMETRY_PRICES") else None)
    settings = config.IngestSettings(
        db_url=url,
        sources=sources,
        host_id=host_id or config.default_host_id(env),
        watch=watch,
        polling=polling,
        rescan_interval_s=rescan,
        progress=not quiet and sys.stderr.isatty(),
        price_overrides=price_file,
        bulk_min_bytes=-1 if bulk_min_mb < 0 else int(bulk_min_mb * (1 << 20)),
    )
    from ingestor import daemon

    daemon.run(settings)


# --- serve ----------------------------------------------------------------------------------


@app.command()
def serve(
    db: DbOpt = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Address to listen on (default: $TELEMETRY_ADDRESS or 127.0.0.1)."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port (default: $TELEMETRY_PORT or 8501)."),
    ] = None,
    query_timeout: Annotated[
        float,
        typer.Option(
            "--query-timeout",
            help="Seconds any one dashboard query may run "
            "(default: $TELEMETRY_QUERY_TIMEOUT or 5).",
            show_default=False,
        ),
    ] = 0,
) -> None:
    """Serve the dashboard (read-only on the database)."""
    env = _env()
    try:
        addr, p = config.serve_defaults(env)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    try:
        timeout_s = query_timeout or float(env.get("TELEMETRY_QUERY_TIMEOUT") or 5)
    except ValueError as exc:
        raise UserError("TELEMETRY_QUERY_TIMEOUT must be a number of seconds") from exc
    if timeout_s <= 0:
        raise UserError("--query-timeout must be a positive number of seconds")
    from ingestor.db import check_url

    url = _db_url(db)
    check_url(url)  # a URL no page could ever read fails now, not in every page
    settings = config.ServeSettings(
        db_url=url,
        host=host or addr,
        port=port or p,
        query_timeout_ms=int(timeout_s * 1000),
        extra={"tz": config.local_zone_name(env)},
    )
    from webapp.app import ServeError, run

    try:
        run(settings)
    except ServeError as exc:
        raise UserError(str(exc)) from exc


# --- report ---------------------------------------------------------------------------------


@app.command()
def report(
    kind: Annotated[str, typer.Argument(help="summary | daily | models | tools | sessions")],
    db: DbOpt = None,
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), inclusive.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), exclusive.")] = None,
    tz: Annotated[
        str | None, typer.Option(help="IANA time zone of the days (default: local).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """Totals from the database for a date range (half-open [since, until))."""
    from ingestor import reports
    from ingestor.db import make_readonly_engine

    zone = tz or config.local_zone_name(_env())
    rng = reports.make_range(since, until, zone)
    if kind not in reports.KINDS:
        raise UserError(f"unknown report {kind!r}: use one of {', '.join(reports.KINDS)}")
    engine = make_readonly_engine(_db_url(db), statement_timeout_ms=120_000)
    with engine.connect() as conn:
        data = reports.run(conn, kind, rng)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        from ingestor.render import render_report

        render_report(kind, data)


# --- demo -----------------------------------------------------------------------------------


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Directory to write the state dir into.")
    ] = Path("openclaw-demo"),
    days: Annotated[int, typer.Option(min=1, help="Days of history, ending yesterday.")] = 42,
    seed: Annotated[int, typer.Option(help="Random seed (same seed and dates, same files).")] = 7,
    end: Annotated[
        str | None,
        typer.Option(
            help="Last day of history (YYYY-MM-DD; default: yesterday, so the "
            "dashboard's recent ranges show data)."
        ),
    ] = None,
) -> None:
    """Write a realistic OpenClaw state dir to try the product on."""
    from datetime import date, timedelta

    from ingestor.demo import DemoOptions, generate

    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not empty: choose another --out")
    try:
        last = date.fromisoformat(end) if end else date.today() - timedelta(days=1)
    except ValueError as exc:
        raise UserError(f"--end must be a date like 2026-03-02, not {end!r}") from exc
    start = last - timedelta(days=days - 1)
    try:
        exp = generate(out, DemoOptions(seed=seed, days=days, start=start))
    except OSError as exc:
        raise UserError(f"cannot write the demo to {out}: {exc.strerror or exc}") from exc
    typer.echo(
        f"wrote {exp.files_written} files ({exp.bytes_written / 1e6:.1f} MB) to {out}: "
        f"{exp.sessions} sessions, {exp.llm_calls} LLM calls.\n"
        f"next: {config.cli_command()} ingest --source {out} --source {out / 'logs'}"
    )


# --- reprice --------------------------------------------------------------------------------


@app.command()
def reprice(
    db: DbOpt = None,
    prices: Annotated[
        Path | None,
        typer.Option("--prices", help="Price overrides TOML (default: $TELEMETRY_PRICES)."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, exclusive (UTC).")] = None,
) -> None:
    """Recompute priced cost, cost and cost source after prices or overrides change."""
    from ingestor import reports
    from ingestor.pricing import Pricer
    from ingestor.reprice import reprice as do_reprice

    env = _env()
    price_file = prices or (Path(env["TELEMETRY_PRICES"]) if env.get("TELEMETRY_PRICES") else None)
    pricer = Pricer(_load_overrides(price_file))
    rng = reports.make_range(since, until, "UTC")
    eng = _engine(_db_url(db))
    with eng.begin() as conn:
        res = do_reprice(conn, pricer, rng.since_ms, rng.until_ms)
    typer.echo(f"repriced {res.calls} calls, {res.changed} changed")


def _load_overrides(path: Path | None) -> list[Any]:
    if path is None:
        return []
    from ingestor.overrides import load_overrides

    return list(load_overrides(path))


# --- entry point ----------------------------------------------------------------------------


def main() -> None:
    """Run the CLI, turning known failures into one line and exit code 1 (usage errors: the
    usage line, the error and exit code 2, as click prints them)."""
    # A signal during the imports below (half a second) ends the process quietly too: Ctrl-C
    # as 130, SIGTERM as 143 (the daemon and a pass install their own handlers later). A
    # process stopped before its first commit has written nothing.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        _main()
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _main() -> None:
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import DBAPIError

    from ingestor.db import DatabaseError
    from ingestor.reports import ReportError

    known: tuple[type[BaseException], ...] = (UserError, DatabaseError, ReportError)
    try:
        from ingestor.overrides import OverrideError

        known = (*known, OverrideError)
    except ImportError:  # pragma: no cover
        pass
    try:
        app(standalone_mode=False)
    except known as exc:
        _fail(str(exc))
    except CommandError as exc:  # alembic: an unknown revision and the like
        _fail(f"database schema: {str(exc).splitlines()[0]}")
    except DBAPIError as exc:
        msg = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        hint = ""
        if "no such table" in msg or "does not exist" in msg:
            hint = " (run `agentbox-telemetry db upgrade` or `agentbox-telemetry ingest` first)"
        elif "not a database" in msg:
            hint = " (--db must name a SQLite database file or a PostgreSQL URL)"
        _fail(f"database: {msg}{hint}")
    except typer.Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # click's usage errors (typer ships its own copy of click)
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            raise SystemExit(code) from None
        raise


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(1) from None


if __name__ == "__main__":  # pragma: no cover
    main()
