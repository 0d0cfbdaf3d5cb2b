"""ingestor.discover: file-name classification and source walking on real directory trees."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ingestor.discover import (
    Candidate,
    NameClass,
    agent_for_path,
    classify_name,
    discover,
)

U = "0b8e4f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
U2 = "7c1d9e0f-2a3b-4c5d-9e8f-a0b1c2d3e4f5"
TS = "2026-03-02T09-14-05.112Z"
FORK_TS = "2026-03-02T09-14-05-112Z"


def transcript(
    session_id: str, archive: str | None = None, *, zst: bool = False, fork: bool = False
) -> NameClass:
    return NameClass("transcript", session_id, archive, zst, fork, None)


def ignored(reason: str) -> NameClass:
    return NameClass("ignored", None, None, False, False, reason)


INDEX = NameClass("sessions_index", None, None, False, False, None)
STORE = NameClass("sqlite_store", None, None, False, False, None)
LOG = NameClass("gateway_log", None, None, False, False, None)

NAME_TABLE: list[tuple[str, NameClass]] = [
    # live transcripts
    (f"{U}.jsonl", transcript(U)),
    (f"{U}-topic-42.jsonl", transcript(U)),
    (f"{U}-topic-%2D100123.jsonl", transcript(U)),
    (f"{FORK_TS}_{U}.jsonl", transcript(U, fork=True)),
    ("custom-session_1.jsonl", transcript("custom-session_1")),
    # archives
    (f"{U}.jsonl.reset.{TS}", transcript(U, "reset")),
    (f"{U}.jsonl.deleted.{TS}", transcript(U, "deleted")),
    (f"{U}.jsonl.deleted.{TS}.zst", transcript(U, "deleted", zst=True)),
    (f"{U}.jsonl.reset.{TS}.zst", transcript(U, "reset", zst=True)),
    (f"{U}-topic-7.jsonl.reset.{TS}", transcript(U, "reset")),
    (f"{FORK_TS}_{U}.jsonl.deleted.{TS}", transcript(U, "deleted", fork=True)),
    (f"{FORK_TS}_{U}.jsonl.deleted.{TS}.zst", transcript(U, "deleted", zst=True, fork=True)),
    (f"{U}.jsonl.reset.1772431260871", transcript(U, "reset")),
    # never usage
    (f"{U}.jsonl.bak.{TS}", ignored("bak")),
    (f"{U}.checkpoint.{U2}.jsonl", ignored("checkpoint")),
    (f"{U}.trajectory.jsonl", ignored("trajectory")),
    (f"{U}.trajectory-path.json", ignored("trajectory")),
    (f"{U}.acp-stream.jsonl", ignored("acp-stream")),
    (f"{U}.trajectory.jsonl.deleted.{TS}", ignored("trajectory")),
    (f"{U}.jsonl.lock", ignored("lock")),
    (f"{U}.jsonl.deleted.{TS}.zst.tmp", ignored("tmp")),
    # the session index and its satellites
    ("sessions.json", INDEX),
    ("sessions.json.lock", ignored("lock")),
    (f"sessions.json.4242.{U}.tmp", ignored("tmp")),
    ("sessions.json.bak.3", ignored("bak")),
    (".usage-cost-cache.json", ignored("usage-cache")),
    (".usage-cost-cache.json.lock", ignored("usage-cache")),
    # SQLite era
    ("openclaw-agent.sqlite", STORE),
    ("openclaw-agent.sqlite-wal", ignored("sqlite-sidecar")),
    ("openclaw-agent.sqlite-shm", ignored("sqlite-sidecar")),
    # gateway logs
    ("openclaw-2026-03-02.log", LOG),
    ("openclaw-2026-03-02.1.log", LOG),
    ("openclaw-2026-03-02.5.log", LOG),
    ("openclaw-dev-2026-03-02.log", LOG),
    ("openclaw-work-team-2026-03-02.2.log", LOG),
    ("openclaw.log", LOG),
    ("clawdbot-2026-01-20.log", LOG),
    ("moltbot-2026-01-28.log", LOG),
    # anything else
    ("commands.log", ignored("not-ours")),
    ("gateway.log", ignored("not-ours")),
    ("openclaw-2026-3-2.log", ignored("not-ours")),
    ("openclaw.json", ignored("not-ours")),
    ("jobs.json", ignored("not-ours")),
    ("notes.md", ignored("not-ours")),
    (".jsonl", ignored("not-ours")),
    ("-topic-3.jsonl", ignored("not-ours")),
    ("a.b.jsonl", ignored("not-ours")),
    (f"{U}.jsonl.zst", ignored("not-ours")),
]


@pytest.mark.parametrize(("name", "expected"), NAME_TABLE, ids=[n for n, _ in NAME_TABLE])
def test_classify_name(name: str, expected: NameClass) -> None:
    assert classify_name(name) == expected


@pytest.mark.parametrize(
    ("path", "agent"),
    [
        ("/s/agents/main/sessions/a.jsonl", "main"),
        ("/s/agents/Work/sessions/active-memory/a.jsonl", "work"),
        ("/s/agents/ops/agent/openclaw-agent.sqlite", "ops"),
        ("/s/sessions/a.jsonl", "main"),
        ("/home/agents/bob/.openclaw/agents/ops/sessions/a.jsonl", "ops"),
        ("/home/agents/bob/.openclaw/sessions/a.jsonl", "main"),
        ("/tmp/openclaw/openclaw-2026-03-02.log", "main"),
        ("a.jsonl", "main"),
    ],
)
def test_agent_for_path(path: str, agent: str) -> None:
    assert agent_for_path(Path(path)) == agent


# -- walking real trees ------------------------------------------------------------------------


def touch(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def summary(candidates: list[Candidate], root: Path) -> list[tuple[str, str, str]]:
    return [(str(c.path.relative_to(root)), c.kind, c.agent_id) for c in candidates]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    s = tmp_path / ".openclaw"
    touch(s / "openclaw.json", b"{}")
    main = s / "agents" / "main" / "sessions"
    touch(main / f"{U}.jsonl")
    touch(main / f"{U}-topic-9.jsonl")
    touch(main / f"{FORK_TS}_{U2}.jsonl")
    touch(main / f"{U2}.jsonl.reset.{TS}")
    touch(main / f"{U2}.jsonl.deleted.{TS}.zst")
    touch(main / f"{U}.jsonl.bak.{TS}")
    touch(main / f"{U}.trajectory.jsonl")
    touch(main / f"{U}.trajectory-path.json")
    touch(main / "sessions.json")
    touch(main / "sessions.json.lock")
    touch(main / ".usage-cost-cache.json")
    touch(main / "active-memory" / f"{U2}.jsonl")
    touch(main / "session-sqlite-import-archive" / f"{U}.jsonl")
    work = s / "agents" / "Work"
    touch(work / "sessions" / f"{U}.jsonl")
    touch(work / "sessions" / f"{U}.checkpoint.{U2}.jsonl")
    touch(work / "agent" / "openclaw-agent.sqlite")
    touch(work / "agent" / "openclaw-agent.sqlite-wal")
    touch(work / "agent" / "auth-profiles.json")
    touch(s / "sessions" / "legacy.jsonl")  # very old single-agent layout
    # never walked in a state dir
    touch(s / "workspace" / "notes" / f"{U}.jsonl")
    touch(s / "cron" / "runs" / "7d2f9a.jsonl")
    touch(s / "logs" / "openclaw-2026-03-02.log")
    touch(s / "agents" / "main" / "qmd" / f"{U}.jsonl")
    return s


def test_discover_state_dir(state_dir: Path) -> None:
    d = discover([state_dir])
    # sorted by path components: "-" < "." < digits < upper case < lower case
    assert summary(d.candidates, state_dir) == [
        ("agents/Work/agent/openclaw-agent.sqlite", "sqlite_store", "work"),
        (f"agents/Work/sessions/{U}.jsonl", "jsonl", "work"),
        (f"agents/main/sessions/{U}-topic-9.jsonl", "jsonl", "main"),
        (f"agents/main/sessions/{U}.jsonl", "jsonl", "main"),
        (f"agents/main/sessions/{FORK_TS}_{U2}.jsonl", "jsonl", "main"),
        (f"agents/main/sessions/{U2}.jsonl.deleted.{TS}.zst", "jsonl_zst", "main"),
        (f"agents/main/sessions/{U2}.jsonl.reset.{TS}", "jsonl", "main"),
        (f"agents/main/sessions/active-memory/{U2}.jsonl", "jsonl", "main"),
        (f"agents/main/sessions/session-sqlite-import-archive/{U}.jsonl", "jsonl", "main"),
        ("agents/main/sessions/sessions.json", "sessions_index", "main"),
        ("sessions/legacy.jsonl", "jsonl", "main"),
    ]
    assert [c.path for c in d.candidates] == sorted(c.path for c in d.candidates)
    assert d.ignored == Counter(
        {"bak": 1, "trajectory": 2, "lock": 1, "usage-cache": 1, "checkpoint": 1}
    )
    assert d.missing_sources == []
    fork = next(c for c in d.candidates if c.name.fork)
    assert fork.name == transcript(U2, fork=True)


def test_discover_finds_state_dir_inside_a_generic_dir(state_dir: Path, tmp_path: Path) -> None:
    touch(tmp_path / "node_modules" / "pkg" / f"{U}.jsonl")
    touch(tmp_path / ".cache" / f"{U}.jsonl")
    touch(tmp_path / "project" / ".git" / f"{U}.jsonl")
    touch(tmp_path / "media" / f"{U}.jsonl")
    touch(tmp_path / "workspace" / f"{U}.jsonl")
    d = discover([tmp_path])
    # the same as walking the state dir itself: pruned dirs and the state dir's
    # workspace/cron/logs contribute nothing
    assert d.candidates == discover([state_dir]).candidates


def test_discover_home_with_marker_dirs_still_finds_state_dirs(
    state_dir: Path, tmp_path: Path
) -> None:
    # a home dir with its own agents/ folder looks like a state dir, but .openclaw* inside it
    # are still walked
    touch(tmp_path / "agents" / "proj" / "README.md")
    dev = tmp_path / ".openclaw-dev"
    touch(dev / "agents" / "main" / "sessions" / f"{U2}.jsonl")
    d = discover([tmp_path])
    assert [c.path for c in d.candidates] == sorted(
        [
            *(c.path for c in discover([state_dir]).candidates),
            dev / "agents/main/sessions" / f"{U2}.jsonl",
        ]
    )


def test_discover_log_dir_and_single_files(tmp_path: Path) -> None:
    logs = tmp_path / "tmp" / "openclaw"
    touch(logs / "openclaw-2026-03-01.log")
    touch(logs / "openclaw-2026-03-02.log")
    touch(logs / "openclaw-2026-03-02.1.log")
    touch(logs / "openclaw-dev-2026-03-02.log")
    touch(logs / "old" / "clawdbot-2026-01-20.log")
    touch(logs / "README.txt")
    single = touch(tmp_path / "elsewhere" / f"{U}.jsonl.deleted.{TS}.zst")
    bak = touch(tmp_path / "elsewhere" / f"{U}.jsonl.bak.{TS}")
    gone = tmp_path / "does-not-exist"
    d = discover([logs, single, bak, gone])
    assert summary(d.candidates, tmp_path) == [
        (f"elsewhere/{U}.jsonl.deleted.{TS}.zst", "jsonl_zst", "main"),
        ("tmp/openclaw/old/clawdbot-2026-01-20.log", "gateway_log", "main"),
        ("tmp/openclaw/openclaw-2026-03-01.log", "gateway_log", "main"),
        ("tmp/openclaw/openclaw-2026-03-02.1.log", "gateway_log", "main"),
        ("tmp/openclaw/openclaw-2026-03-02.log", "gateway_log", "main"),
        ("tmp/openclaw/openclaw-dev-2026-03-02.log", "gateway_log", "main"),
    ]
    assert d.ignored == Counter({"not-ours": 1, "bak": 1})
    assert d.missing_sources == [gone]


def test_discover_agent_sessions_dir_directly(state_dir: Path) -> None:
    sessions = state_dir / "agents" / "Work" / "sessions"
    d = discover([sessions])
    assert summary(d.candidates, state_dir) == [
        (f"agents/Work/sessions/{U}.jsonl", "jsonl", "work")
    ]
    assert d.ignored == Counter({"checkpoint": 1})


def test_discover_agent_dir_and_agents_dir(state_dir: Path) -> None:
    work = discover([state_dir / "agents" / "Work"])
    assert summary(work.candidates, state_dir) == [
        ("agents/Work/agent/openclaw-agent.sqlite", "sqlite_store", "work"),
        (f"agents/Work/sessions/{U}.jsonl", "jsonl", "work"),
    ]
    agents = discover([state_dir / "agents"])
    full = discover([state_dir])
    assert agents.candidates == [c for c in full.candidates if "/agents/" in str(c.path)]


def test_discover_dedupes_overlapping_sources_and_extra_files(state_dir: Path) -> None:
    main_sessions = state_dir / "agents" / "main" / "sessions"
    outside = touch(state_dir.parent / "custom" / f"{U2}.jsonl")
    d = discover(
        [state_dir, main_sessions, main_sessions / f"{U}.jsonl"],
        extra_files=[
            outside,
            main_sessions / f"{U}.jsonl",
            state_dir.parent / "custom" / "gone.jsonl",
            main_sessions / f"{U}.trajectory.jsonl",
        ],
    )
    paths = [c.path for c in d.candidates]
    assert len(paths) == len(set(paths)) == len(discover([state_dir]).candidates) + 1
    assert paths == sorted(paths)
    extra = next(c for c in d.candidates if c.path == outside)
    assert (extra.kind, extra.agent_id, extra.name.session_id) == ("jsonl", "main", U2)
    assert d.missing_sources == []


def test_discover_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    target = touch(real / f"{U}.jsonl")
    os.symlink(target, real / f"{U2}.jsonl")  # a second name for the same file
    os.symlink(real, real / "loop")  # a dir symlink: never followed
    os.symlink(tmp_path / "nowhere.jsonl", real / "broken.jsonl")
    d = discover([real])
    assert [c.path for c in d.candidates] == [target]
    # the source itself may be a symlink: it is resolved
    link = tmp_path / "link"
    os.symlink(real, link)
    assert [c.path for c in discover([link]).candidates] == [target]


def test_discover_skips_unreadable_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "ok" / f"{U}.jsonl")
    locked = tmp_path / "locked"
    touch(locked / f"{U2}.jsonl")
    real_scandir = os.scandir

    def scandir(path: str) -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    # chmod 0 does not stop root, so the refusal is simulated where discover meets it
    monkeypatch.setattr(os, "scandir", scandir)
    d = discover([tmp_path])
    assert [c.path for c in d.candidates] == [tmp_path / "ok" / f"{U}.jsonl"]
    assert d.ignored == Counter({"unreadable-dir": 1})


def test_discover_depth_limit(tmp_path: Path) -> None:
    deep = tmp_path
    for i in range(8):
        deep = deep / f"d{i}"
        touch(deep / f"openclaw-2026-03-0{i + 1}.log")
    found = sorted(c.path.name for c in discover([tmp_path]).candidates)
    # files in dirs up to 6 levels below the source are found; deeper ones are not
    assert found == [f"openclaw-2026-03-0{i + 1}.log" for i in range(6)]


def test_discover_is_fast(tmp_path: Path) -> None:
    sessions = tmp_path / "state" / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    for i in range(9000):
        (sessions / f"{i:08x}-1c3d-4e5f-8a9b-0c1d2e3f4a5b.jsonl").touch()
    for i in range(1000):
        (sessions / f"{i:08x}.trajectory.jsonl").touch()
    discover([tmp_path])  # warm the dentry cache
    elapsed = []
    for _ in range(3):  # best of three: the budget is for the code, not a busy machine
        start = time.perf_counter()
        d = discover([tmp_path])
        elapsed.append(time.perf_counter() - start)
    assert len(d.candidates) == 9000
    assert d.ignored == Counter({"trajectory": 1000})
    assert min(elapsed) < 0.3, f"discovering 10,000 files took {min(elapsed):.3f}s"


def test_discover_follows_openclaw_json(tmp_path: Path) -> None:
    """openclaw.json (JSON5) may move session stores (``session.store``, with ``{agentId}``,
    relative to the state dir or absolute) and the gateway log (``logging.file``)."""
    s = tmp_path / ".openclaw"
    touch(s / "agents" / "ops" / "agent" / "auth-profiles.json")  # agent known by its folder
    stores = tmp_path / "stores"
    touch(stores / "ops" / "sessions.json")
    touch(stores / "ops" / f"{U}.jsonl")
    touch(stores / "main" / "active-memory" / f"{U2}.jsonl")
    touch(stores / "helper" / f"{U2}.jsonl")  # named only by the config's agents.list
    touch(stores / "stranger" / f"{U}.jsonl")  # no such agent: not read
    log = touch(tmp_path / "var" / "gw.log")
    touch(
        s / "openclaw.json",
        (
            "// JSON5: comments, unquoted keys, trailing commas\n"
            f"{{session: {{store: '{stores}/{{agentId}}/sessions.json',}},\n"
            f" agents: {{list: [{{id: 'Helper'}}, {{id: '../x'}}]}},\n"
            f" logging: {{file: '{log}', level: 'debug'}},}}\n"
        ).encode(),
    )
    d = discover([s])
    assert summary(d.candidates, tmp_path) == [
        ("stores/helper/" + f"{U2}.jsonl", "jsonl", "helper"),
        ("stores/main/active-memory/" + f"{U2}.jsonl", "jsonl", "main"),
        ("stores/ops/" + f"{U}.jsonl", "jsonl", "ops"),
        ("stores/ops/sessions.json", "sessions_index", "ops"),
        ("var/gw.log", "gateway_log", "main"),
    ]
    assert d.config_dirs == sorted(
        [str(stores / "helper"), str(stores / "main"), str(stores / "ops"), str(log.parent)]
    )

    # a relative store without {agentId}: one folder for every agent, below the state dir
    (s / "openclaw.json").write_text('{"session": {"store": "shared/sessions.json"}}')
    touch(s / "shared" / f"{U}.jsonl")
    d = discover([s])
    assert summary(d.candidates, tmp_path) == [(f".openclaw/shared/{U}.jsonl", "jsonl", "main")]

    # a config that is not JSON5 moves nothing and fails nothing
    (s / "openclaw.json").write_text("{session: ")
    assert discover([s]).candidates == []


def test_discover_walks_every_legacy_state_dir_name(tmp_path: Path) -> None:
    for name in (".openclaw", ".clawdbot", ".moltbot", ".moldbot", ".openclaw-work"):
        touch(tmp_path / name / "agents" / "main" / "sessions" / f"{U}.jsonl")
    d = discover([tmp_path])
    assert sorted(str(c.path.relative_to(tmp_path)).split("/")[0] for c in d.candidates) == [
        ".clawdbot",
        ".moldbot",
        ".moltbot",
        ".openclaw",
        ".openclaw-work",
    ]
