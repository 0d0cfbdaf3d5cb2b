"""The pure accounting helpers: session kinds from keys, cron prefixes, exec command
families, parent references and sessions.json entries."""

from __future__ import annotations

import pytest

from ingestor.normalize import (
    command_family,
    cron_from_text,
    index_entries,
    kind_of_key,
    session_id_from_ref,
)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("agent:main:main", "main"),
        ("agent:main:dm:5512", "dm"),
        ("agent:main:telegram:dm:5512", "dm"),
        ("agent:main:telegram:default:dm:5512", "dm"),
        ("agent:main:telegram:group:-100123", "group"),
        ("agent:main:discord:channel:42", "group"),
        ("agent:main:matrix:room:abc", "group"),
        ("agent:main:telegram:group:-100123:topic:7", "thread"),
        ("agent:main:slack:channel:C1:thread:171.2", "thread"),
        ("agent:main:subagent:2b7e4c1a-9f3d-4e8a-b6c2-7d1f0e9a8b3c", "subagent"),
        ("agent:main:subagent:a:subagent:b", "subagent"),
        ("agent:main:cron:7d2f9a", "cron"),
        ("agent:ops:hook:gmail:xyz", "hook"),
        ("agent:main:hook:5e0c7a12", "hook"),
        ("agent:main:main:heartbeat", "heartbeat"),
        ("agent:main:acp:session-1", "acp"),
        ("agent:main:explicit:model-run-1", "other"),
        ("global", "other"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_kind_of_key(key: str | None, kind: str) -> None:
    assert kind_of_key(key) == kind


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("[cron:7d2f9a Morning brief] Post the brief", ("7d2f9a", "Morning brief")),
        ("[cron:abc] do it", ("abc", None)),
        ("  [cron:job-1 Nightly backup check] ...", ("job-1", "Nightly backup check")),
        ("[Telegram Ana] hi", None),
        ("hello [cron:x y]", None),
        (None, None),
    ],
)
def test_cron_from_text(text: str | None, want: tuple[str, str | None] | None) -> None:
    assert cron_from_text(text) == want


@pytest.mark.parametrize(
    ("cmd", "family"),
    [
        ("gog calendar list --today --json", "gog"),
        ("/usr/bin/git status", "git"),
        ("FOO=1 BAR=2 sudo python3 -m http.server", "python3"),
        ("  ls -la", "ls"),
        ("'npm' run build", "npm"),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_command_family(cmd: object, family: str | None) -> None:
    assert command_family(cmd) == family


@pytest.mark.parametrize(
    ("ref", "sid"),
    [
        ("/home/a/.openclaw/agents/main/sessions/9c1e.jsonl", "9c1e"),
        (
            "/s/2026-03-02T09-14-05-112Z_4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10.jsonl",
            "4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10",
        ),
        ("/s/abc-topic-12.jsonl", "abc"),
        ("/s/abc.jsonl.reset.2026-03-02T09-14-05.112Z", "abc"),
        ("agent-db:main:transcript_events:5e0c7a12", "5e0c7a12"),
        (None, None),
        ("", None),
    ],
)
def test_session_id_from_ref(ref: str | None, sid: str | None) -> None:
    assert session_id_from_ref(ref) == sid


def test_index_entries() -> None:
    store = {
        "agent:main:main": {
            "sessionId": "s-main",
            "updatedAt": 1,
            "lastChannel": "telegram",
            "sessionFile": "/x/s-main.jsonl",
        },
        "agent:main:subagent:u1": {
            "sessionId": "s-sub",
            "updatedAt": 2,
            "spawnedBy": "agent:main:main",
            "label": "lisbon-hotels",
            "deliveryContext": {"channel": "webchat"},
        },
        "agent:ops:cron:7d2f9a": {"sessionId": "s-cron", "updatedAt": 3},
        "broken": {"updatedAt": 4},
        "also-broken": "not an object",
    }
    got = {e.session_id: e for e in index_entries(store)}
    assert set(got) == {"s-main", "s-sub", "s-cron"}
    assert got["s-main"].kind == "main" and got["s-main"].channel == "telegram"
    assert got["s-main"].session_file == "/x/s-main.jsonl"
    assert got["s-sub"].kind == "subagent" and got["s-sub"].label == "lisbon-hotels"
    assert got["s-sub"].parent_key == "agent:main:main" and got["s-sub"].channel == "webchat"
    assert got["s-cron"].kind == "cron" and got["s-cron"].cron_job_id == "7d2f9a"
    assert got["s-cron"].agent_id == "ops"
    assert index_entries([1, 2]) == []
