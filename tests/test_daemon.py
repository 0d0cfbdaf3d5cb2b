"""Watch mode as a real process: appended lines become visible, polling mode works, and
SIGINT/SIGTERM stop it cleanly (exit 0, 'stopped' logged, nothing lost)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).parent / "agentbox-telemetry")
SID = "4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10"


def calls(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return -1
    try:
        return int(con.execute("SELECT COUNT(*) FROM usage").fetchone()[0])
    except sqlite3.Error:
        return -1
    finally:
        con.close()


def wait_for(pred, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


@pytest.mark.parametrize("mode", ["events", "polling"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_watch_follows_appends_and_stops_cleanly(
    tmp_path: Path, sample_lines: list[bytes], mode: str, sig: signal.Signals
) -> None:
    d = tmp_path / "state" / "agents" / "main" / "sessions"
    d.mkdir(parents=True)
    f = d / f"{SID}.jsonl"
    f.write_bytes(b"\n".join(sample_lines[:9]) + b"\n")  # two calls
    db = tmp_path / "db.sqlite"
    args = [
        EXE,
        "ingest",
        "--watch",
        "--db",
        f"sqlite:///{db}",
        "--source",
        str(tmp_path / "state"),
        "-q",
        "--rescan",
        "60",
    ]
    if mode == "polling":
        args.append("--polling")
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: calls(db) == 2)
        with f.open("ab") as fh:  # the rest of the sample: six more calls
            fh.write(b"\n".join(sample_lines[9:]) + b"\n")
        wait_for(lambda: calls(db) == 8)
    finally:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in err
    assert "Traceback" not in err
    assert calls(db) == 8


def _outside_session_file(tmp_path: Path, sample_lines: list[bytes]) -> tuple[Path, Path]:
    """A state dir whose sessions.json names a transcript (two calls) in a folder outside it:
    (that transcript, the database path)."""
    import json

    d = tmp_path / "state" / "agents" / "main" / "sessions"
    d.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    f = elsewhere / f"{SID}.jsonl"
    f.write_bytes(b"\n".join(sample_lines[:9]) + b"\n")  # two calls
    entry = {"sessionId": SID, "updatedAt": 1, "sessionFile": str(f)}
    (d / "sessions.json").write_text(json.dumps({"agent:main:main": entry}))
    return f, tmp_path / "db.sqlite"


def test_watch_follows_a_session_file_outside_the_state_dir(
    tmp_path: Path, sample_lines: list[bytes]
) -> None:
    """sessions.json may name an absolute sessionFile elsewhere: its folder is watched too,
    so an append there wakes the daemon (the rescan is set far away: 600 s)."""

    f, db = _outside_session_file(tmp_path, sample_lines)
    args = [EXE, "ingest", "--watch", "--db", f"sqlite:///{db}", "--source",
            str(tmp_path / "state"), "-q", "--rescan", "600"]  # fmt: skip
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: calls(db) == 2)
        with f.open("ab") as fh:
            fh.write(b"\n".join(sample_lines[9:]) + b"\n")
        wait_for(lambda: calls(db) == 8)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_an_append_before_a_new_folder_is_watched_is_read_at_once(
    tmp_path: Path, sample_lines: list[bytes]
) -> None:
    """The pass that finds a folder to watch (an outside sessionFile's) commits before the
    watch exists: an append landing in between has no event. The daemon then runs another
    pass at once instead of waiting for the rescan (600 s here). In-process, with the append
    made exactly in that window."""
    import threading

    from ingestor.config import IngestSettings
    from ingestor.daemon import Daemon, build

    f, db = _outside_session_file(tmp_path, sample_lines)
    settings = IngestSettings(
        db_url=f"sqlite:///{db}",
        sources=(tmp_path / "state",),
        host_id="h",
        watch=True,
        rescan_interval_s=600,
    )
    engine, pipe = build(settings)
    daemon = Daemon(settings, engine, pipe)
    first_pass = daemon._pass

    def pass_then_append() -> None:
        first_pass()
        if daemon.passes == 1:  # after the first commit, before the folder is watched
            with f.open("ab") as fh:
                fh.write(b"\n".join(sample_lines[9:]) + b"\n")

    daemon._pass = pass_then_append  # type: ignore[method-assign]
    t = threading.Thread(target=daemon.run)
    t.start()
    try:
        wait_for(lambda: calls(db) == 8)
        assert daemon.passes == 2
    finally:
        daemon.stop.set()
        daemon.wake.set()
        t.join(30)
        engine.dispose()
    assert not t.is_alive()
