"""The CLI contract: every command answers --help; user errors are one line, not a
traceback; settings come from flags, then the environment, then defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingestor import config

EXE = str(Path(sys.executable).parent / "agentbox-telemetry")

COMMANDS = [
    [],
    ["db"],
    ["db", "upgrade"],
    ["db", "downgrade"],
    ["db", "current"],
    ["ingest"],
    ["serve"],
    ["report"],
    ["demo"],
    ["reprice"],
]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120, env=e)


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_answers_help(cmd: list[str]) -> None:
    r = run(*cmd, "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage:" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_help_lists_every_subcommand() -> None:
    out = run("--help").stdout
    for name in ("db", "ingest", "serve", "report", "demo", "reprice"):
        assert name in out


def test_report_on_missing_database_is_one_line(tmp_path: Path) -> None:
    r = run("report", "summary", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert "does not exist yet" in r.stderr


def test_unknown_report_kind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run("db", "upgrade", "--db", url).returncode == 0
    r = run("report", "nonsense", "--db", url)
    assert r.returncode == 1
    assert "unknown report 'nonsense'" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_date_and_zone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run("db", "upgrade", "--db", url).returncode == 0
    r = run("report", "summary", "--db", url, "--since", "yesterday")
    assert r.returncode == 1 and "--since must be a date" in r.stderr
    r = run("report", "summary", "--db", url, "--tz", "Mars/Olympus")
    assert r.returncode == 1 and "unknown time zone" in r.stderr


def test_unreachable_postgres_is_one_line() -> None:
    r = run("db", "upgrade", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert r.returncode == 1
    assert r.stderr.startswith("error: database:")
    assert "Traceback" not in r.stderr


def test_ingest_without_sources_is_one_line(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "OPENCLAW_LOG_DIR": "", "OPENCLAW_STATE_DIR": ""}
    r = run("ingest", "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", env=env)
    # /tmp/openclaw may exist on a developer machine; then there is a source and it succeeds
    if not Path("/tmp/openclaw").is_dir():
        assert r.returncode == 1
        assert "pass --source PATH" in r.stderr


def test_db_url_from_env_and_default(tmp_path: Path) -> None:
    assert config.default_db_url({"TELEMETRY_DB_URL": "sqlite:///x.db"}) == "sqlite:///x.db"
    assert config.default_db_url({}).endswith("telemetry.sqlite")


def test_default_sources(tmp_path: Path) -> None:
    home = tmp_path
    for name in (".openclaw", ".clawdbot", ".openclaw-work", ".moltbot"):
        (home / name).mkdir()
    (home / "not-openclaw").mkdir()
    got = config.default_sources({}, home)
    state = [p for p in got if str(p).startswith(str(home))]
    assert state == [
        home / ".openclaw",
        home / ".clawdbot",
        home / ".moltbot",
        home / ".openclaw-work",
    ]
    only = config.default_sources({"OPENCLAW_STATE_DIR": "/srv/oc", "OPENCLAW_LOG_DIR": "/l"}, home)
    assert only == [Path("/srv/oc"), Path("/l")]
    # the per-user log dir OpenClaw falls back to, under the temp dir
    tmp = tmp_path / "tmp"
    (tmp / "openclaw-1234").mkdir(parents=True)
    (tmp / "openclaw-99").mkdir()
    logs = config.default_sources({"OPENCLAW_STATE_DIR": "/srv/oc", "TMPDIR": str(tmp)}, home, 1234)
    assert logs[0] == Path("/srv/oc") and tmp / "openclaw-1234" in logs
    assert tmp / "openclaw-99" not in logs


def test_serve_defaults_from_env() -> None:
    assert config.serve_defaults({}) == ("127.0.0.1", 8501)
    assert config.serve_defaults({"TELEMETRY_ADDRESS": "0.0.0.0", "TELEMETRY_PORT": "9000"}) == (
        "0.0.0.0",
        9000,
    )
    with pytest.raises(ValueError, match="TELEMETRY_PORT"):
        config.serve_defaults({"TELEMETRY_PORT": "http"})


def test_demo_then_ingest_then_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = run("demo", "--out", str(out), "--days", "3")
    assert r.returncode == 0, r.stderr
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    r = run("ingest", "--db", url, "--source", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert "calls" in r.stdout and "MB/s" in r.stdout
    r = run("report", "summary", "--db", url, "--json", "--tz", "UTC")
    assert r.returncode == 0, r.stderr
    assert '"llm_calls"' in r.stdout


def test_local_zone_name(tmp_path: Path) -> None:
    assert config.local_zone_name({"TZ": "Europe/Berlin"}) == "Europe/Berlin"
    assert config.local_zone_name({"TZ": ":America/New_York"}) == "America/New_York"
    # zone names without a slash, and a path into the zone database
    assert config.local_zone_name({"TZ": "Japan"}) == "Japan"
    assert config.local_zone_name({"TZ": "EST5EDT"}) == "EST5EDT"
    assert config.local_zone_name({"TZ": "/usr/share/zoneinfo/Asia/Tokyo"}) == "Asia/Tokyo"
    # a POSIX rule is no zone name: the machine's zone instead, never an error
    fallback = config.local_zone_name({})
    assert config.local_zone_name({"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"}) == fallback
    assert config.local_zone_name({"TZ": "Mars/Olympus"}) == fallback


def _one_line(r: subprocess.CompletedProcess[str], text: str) -> None:
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.strip().count("\n") == 0, r.stderr
    assert text in r.stderr


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run("db", "upgrade", "--db", url).returncode == 0
    _one_line(run("ingest", "--db", url, "--source", str(tmp_path / "nope")), "does not exist")
    _one_line(
        run("ingest", "--db", url, env={"OPENCLAW_STATE_DIR": str(tmp_path / "gone")}),
        f"source {tmp_path / 'gone'} does not exist",
    )
    _one_line(run("db", "downgrade", "9999", "--db", url), "Can't locate revision")
    _one_line(run("db", "upgrade", "--revision", "zzz", "--db", url), "Can't locate revision")
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello, this is no database\n" * 200)
    # a file that is no database fails at the start of every command (serve included: it
    # would only explain it in every page), a folder too
    for cmd in (["report", "summary"], ["serve", "--port", "1"], ["ingest", "--source", "."]):
        _one_line(run(*cmd, "--db", f"sqlite:///{not_db}"), f"{not_db} is not a SQLite database")
    _one_line(run("report", "summary", "--db", str(tmp_path)), f"{tmp_path} is a folder")
    _one_line(run("serve", "--db", "mysql://x/y"), "unsupported database 'mysql'")
    (tmp_path / "file").write_text("x")
    _one_line(run("demo", "--out", str(tmp_path / "file" / "sub")), "cannot write the demo")


def test_usage_errors_name_the_problem_without_a_traceback() -> None:
    for args, text in [
        (["report"], "Missing argument"),
        (["report", "summary", "--bogus"], "No such option: --bogus"),
        (["serve", "--port", "99999"], "--port"),
        (["demo", "--days", "0"], "--days"),
    ]:
        r = run(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and text in r.stderr, (args, r.stderr)


def test_downgrade_takes_a_relative_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run("db", "upgrade", "--db", url).returncode == 0
    head = run("db", "current", "--db", url).stdout.split()[1]
    r = run("db", "downgrade", "-1", "--db", url)
    assert r.returncode == 0, r.stderr
    assert run("db", "current", "--db", url).stdout.split()[1] != head


def test_serve_on_a_taken_port_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run("serve", "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--port", str(port))
    _one_line(r, f"cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_during_startup_ends_quietly(tmp_path: Path, sig: str, code: int) -> None:
    """A real signal delivered as the command starts (before its imports and before the
    daemon's own handlers): exit 128 + signal number, no traceback, nothing written."""
    db = tmp_path / "db.sqlite"
    script = (
        "import os, signal, sys; import ingestor.cli as cli; inner = cli._main\n"
        "def first():\n"
        f"    os.kill(os.getpid(), signal.{sig}); inner()\n"
        "cli._main = first\n"
        f"sys.argv = ['agentbox-telemetry', 'ingest', '--db', 'sqlite:///{db}', '--source', "
        f"'{tmp_path}', '-q']\n"
        "cli.main()\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == code, r.stderr
    assert "Traceback" not in r.stderr
    assert not db.exists()


def test_ingest_names_what_it_skipped(tmp_path: Path) -> None:
    """Files skipped by name are never tracked: the pass's output counts them by reason."""
    sessions = tmp_path / "state" / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    sid = "4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10"
    header = {"type": "session", "version": 3, "id": sid, "timestamp": "2026-03-02T09:14:05.112Z"}
    (sessions / f"{sid}.jsonl").write_text(json.dumps(header) + "\n")
    (sessions / f"{sid}.trajectory.jsonl").write_text("{}\n")
    (sessions / "a.trajectory.jsonl").write_text("{}\n")
    (sessions / "sessions.json.lock").write_text("{}")
    (sessions / f"{sid}.jsonl.bak.2026-03-02T10-00-00.000Z").write_text("{}\n")
    r = subprocess.run(
        [EXE, "ingest", "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--source",
         str(tmp_path / "state"), "-q"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "skipped: 2 trajectory, 1 bak, 1 lock"
    assert lines[1].startswith("1 files (1 read, 0 unchanged, 4 skipped), 1 lines, 0 calls")


def test_demo_suggests_a_command_that_runs(tmp_path: Path) -> None:
    """The demo's "next:" line names this program as the user can run it: the bare name only
    when PATH finds this very program (a venv that is not activated needs the path)."""
    bare = run("demo", "--out", str(tmp_path / "a"), "--days", "1", env={"PATH": "/usr/bin:/bin"})
    assert bare.returncode == 0, bare.stderr
    want = f"next: {Path(EXE).resolve()} ingest --source {tmp_path / 'a'} "
    assert bare.stdout.splitlines()[-1].startswith(want)
    on_path = run(
        "demo", "--out", str(tmp_path / "b"), "--days", "1",
        env={"PATH": f"{Path(EXE).parent}:/usr/bin:/bin"},
    )  # fmt: skip
    assert on_path.stdout.splitlines()[-1].startswith("next: agentbox-telemetry ingest ")
