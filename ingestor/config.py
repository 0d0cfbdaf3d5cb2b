"""Settings, built once at the edge (the CLI) from flags and the environment, then passed down.

Nothing else in the code reads the environment: functions here take the environment mapping
and the home directory as arguments so tests can build settings for any situation.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

APP_NAME = "agentbox-telemetry"
DEFAULT_PORT = 8501
DEFAULT_ADDRESS = "127.0.0.1"


@functools.cache
def cli_command() -> str:
    """The command a user can type to run this program's CLI, as its hints show it (the
    demo's next step, the dashboard's panels): the bare name when it is on PATH (an activated
    venv, a pipx or system install), else the script beside the running interpreter
    (``scripts/run.sh`` uses a venv it never activates), quoted for a shell. Computed once."""
    if shutil.which(APP_NAME):
        return APP_NAME
    return shlex.quote(str(Path(sys.executable).parent / APP_NAME))


def default_db_url(env: Mapping[str, str]) -> str:
    """``TELEMETRY_DB_URL``, else a SQLite file in the user's data directory."""
    if env.get("TELEMETRY_DB_URL"):
        return env["TELEMETRY_DB_URL"]
    from platformdirs import user_data_dir

    return "sqlite:///" + str(Path(user_data_dir(APP_NAME, appauthor=False)) / "telemetry.sqlite")


def default_sources(env: Mapping[str, str], home: Path, uid: int | None = None) -> list[Path]:
    """Where OpenClaw keeps its state and logs on this host, as OpenClaw itself resolves them.

    State dirs: ``OPENCLAW_STATE_DIR`` (or legacy ``CLAWDBOT_STATE_DIR``) when set; else every
    existing one of ``~/.openclaw``, legacy ``~/.clawdbot``, ``~/.moltbot``, ``~/.moldbot`` and
    profiles ``~/.openclaw-*`` (``OPENCLAW_HOME`` replaces the home directory). Log dirs:
    ``OPENCLAW_LOG_DIR`` (ours: OpenClaw has no such variable) when set, else ``/tmp/openclaw``,
    the legacy ``/tmp/clawdbot`` and ``/tmp/moltbot``, and the per-user ``openclaw-<uid>``
    under the temp dir (``TMPDIR``, else ``/tmp``) that OpenClaw uses when ``/tmp/openclaw`` is
    not safe. Missing paths are kept out, except an explicitly set variable. A state dir's
    ``openclaw.json`` may move stores and logs elsewhere: discovery follows it.
    """
    out: list[Path] = []
    state = env.get("OPENCLAW_STATE_DIR") or env.get("CLAWDBOT_STATE_DIR")
    if state:
        out.append(Path(state).expanduser())
    else:
        base = Path(env["OPENCLAW_HOME"]).expanduser() if env.get("OPENCLAW_HOME") else home
        for name in (".openclaw", ".clawdbot", ".moltbot", ".moldbot"):
            if (base / name).is_dir():
                out.append(base / name)
        if base.is_dir():
            out.extend(sorted(p for p in base.glob(".openclaw-*") if p.is_dir()))
    logs = env.get("OPENCLAW_LOG_DIR")
    if logs:
        out.append(Path(logs).expanduser())
    else:
        tmp = Path(env.get("TMPDIR") or "/tmp")
        dirs = [Path("/tmp/openclaw"), Path("/tmp/clawdbot"), Path("/tmp/moltbot")]
        if uid is not None:  # where OpenClaw logs when /tmp/openclaw is not safe to use
            dirs.append(tmp / f"openclaw-{uid}")
        out.extend(d for d in dict.fromkeys(dirs) if d.is_dir())
    return out


def local_zone_name(env: Mapping[str, str]) -> str:
    """The machine's IANA time zone: ``TZ`` when it names one, else the /etc/localtime link,
    else UTC (the default zone of reports and the dashboard)."""
    tzname = (env.get("TZ") or "").lstrip(":")
    if "zoneinfo/" in tzname:  # TZ=/usr/share/zoneinfo/Europe/Berlin
        tzname = tzname.split("zoneinfo/", 1)[1]
    if tzname and _is_zone(tzname):  # Europe/Berlin, Japan, EST5EDT (not a POSIX rule)
        return tzname
    try:
        parts = Path("/etc/localtime").resolve().parts
        if "zoneinfo" in parts:
            return "/".join(parts[parts.index("zoneinfo") + 1 :]) or "UTC"
    except OSError:
        pass
    return "UTC"


def _is_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def default_host_id(env: Mapping[str, str]) -> str:
    return env.get("TELEMETRY_HOST_ID") or socket.gethostname() or "localhost"


#: A first pass with at least this much to read into an empty SQLite database is a bulk load
#: (ingestor/bulk.py). Below it a pass takes about a second anyway, and the dashboard sees
#: every session's rows arrive with all its indexes in place.
BULK_MIN_BYTES = 64 << 20


@dataclass(frozen=True)
class IngestSettings:
    """Everything the ingestor needs; built by the CLI."""

    db_url: str
    sources: tuple[Path, ...]
    host_id: str
    watch: bool = False
    polling: bool = False
    rescan_interval_s: float = 30.0
    poll_interval_s: float = 1.0
    heartbeat_interval_s: float = 60.0
    batch_lines: int = 5_000
    #: A first pass reading at least this many bytes into an empty SQLite database is a bulk
    #: load (ingestor/bulk.py); negative: never.
    bulk_min_bytes: int = BULK_MIN_BYTES
    progress: bool = False
    price_overrides: Path | None = None


@dataclass(frozen=True)
class ServeSettings:
    db_url: str
    host: str = DEFAULT_ADDRESS
    port: int = DEFAULT_PORT
    debug: bool = False
    query_timeout_ms: int = 5_000
    extra: dict[str, str] = field(default_factory=dict)


def serve_defaults(env: Mapping[str, str]) -> tuple[str, int]:
    """Address and port from ``TELEMETRY_ADDRESS`` / ``TELEMETRY_PORT``."""
    address = env.get("TELEMETRY_ADDRESS") or DEFAULT_ADDRESS
    port_s = env.get("TELEMETRY_PORT") or str(DEFAULT_PORT)
    try:
        port = int(port_s)
    except ValueError as exc:
        raise ValueError(f"TELEMETRY_PORT must be a number, not {port_s!r}") from exc
    if not 1 <= port <= 65535:
        raise ValueError(f"TELEMETRY_PORT must be between 1 and 65535, not {port}")
    return address, port


def environment() -> dict[str, str]:
    """The process environment, read once by the CLI."""
    return dict(os.environ)
