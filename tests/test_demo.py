"""Tests for :mod:`ingestor.demo`: determinism, layout, quirks and the ground truth.

The ground truth is cross-checked by ``_read_back``, a small independent reading of the written
files that follows accounting.md literally (identity = entry id + timestamp, earliest header
owns a copy, Google input includes cacheRead, invalid numbers count 0, ...).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard

from ingestor.demo import DemoOptions, Expected, expected_to_json, generate

SMALL = DemoOptions(days=15, sessions_per_day=3.0)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    out = tmp_path_factory.mktemp("demo-small")
    return out, generate(out, SMALL)


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    out = tmp_path_factory.mktemp("demo-default")
    return out, generate(out)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --------------------------------------------------------------------------- read-back

_SKIP = re.compile(
    r"(\.bak\.|\.checkpoint\.|\.trajectory\.jsonl$|\.trajectory-path\.json$|"
    r"\.acp-stream\.jsonl$|^sessions\.json)"
)
_TRANSCRIPT = re.compile(r"\.jsonl(\.(reset|deleted)\.[^/]+)?$")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _num(v: Any) -> float:
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
    return v if ok else 0


def _read_back(out: Path) -> dict[str, Any]:
    files = [
        p
        for p in sorted((out / "agents").rglob("*"))
        if p.is_file() and not _SKIP.search(p.name) and _TRANSCRIPT.search(p.name)
    ]
    seen: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {}
    bad = lines = 0
    for p in files:
        data = p.read_bytes()
        if p.name.endswith(".zst"):
            data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        sid = re.search(_UUID, p.name.split("_")[-1]).group(0)  # type: ignore[union-attr]
        hts = "~"  # no header: sorts after every ISO timestamp
        raw = data.split(b"\n")
        assert raw[-1] == b"", p
        for line in raw[:-1]:
            lines += 1
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                try:
                    obj = orjson.loads(line.decode("utf-8", "replace"))
                except orjson.JSONDecodeError:
                    bad += 1
                    continue
            if not isinstance(obj, dict):
                bad += 1
                continue
            if obj.get("type") == "session":
                sid, hts = obj["id"], obj["timestamp"]
                continue
            if obj.get("type") != "message":
                continue
            if not isinstance(obj.get("message"), dict):
                bad += 1
                continue
            ident = (obj["id"], obj["timestamp"])
            if ident not in seen or (hts, sid) < seen[ident][:2]:
                seen[ident] = (hts, sid, obj)
    results: dict[tuple[str, str], bool] = {}
    for _, sid, obj in seen.values():
        m = obj["message"]
        if m["role"] == "toolResult":
            results[(sid, m["toolCallId"])] = m["isError"]
    counters = (
        "llm_calls",
        "failed_calls",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "tool_calls",
        "tool_errors",
        "tool_missing",
    )
    r: dict[str, Any] = dict.fromkeys(counters, 0)
    r |= {
        "logged_cost_usd": 0.0,
        "calls_by_model": {},
        "calls_by_day_utc": {},
        "sessions": len({sid for _, sid, _ in seen.values()}),
        "bad_lines": bad,
        "lines_written": lines,
    }
    for (_, ts), (_, sid, obj) in seen.items():
        m = obj["message"]
        if (
            m["role"] != "assistant"
            or m.get("provider") == "openclaw"
            or m.get("stopReason") == "injected"
            or not isinstance(m.get("usage"), dict)
        ):
            continue
        u = m["usage"]
        r["llm_calls"] += 1
        r["failed_calls"] += m["stopReason"] in ("error", "aborted", "timeout")
        inp, cr = _num(u.get("input")), _num(u.get("cacheRead"))
        if m.get("api") in ("google-generative-ai", "google-vertex"):
            inp = max(0, inp - cr)
        r["input_tokens"] += inp
        r["output_tokens"] += _num(u.get("output"))
        r["cache_read_tokens"] += cr
        r["cache_write_tokens"] += _num(u.get("cacheWrite"))
        total = (u.get("cost") or {}).get("total")
        r["logged_cost_usd"] += _num(total)
        key = (m["provider"], m["model"])
        r["calls_by_model"][key] = r["calls_by_model"].get(key, 0) + 1
        r["calls_by_day_utc"][ts[:10]] = r["calls_by_day_utc"].get(ts[:10], 0) + 1
        for b in m["content"]:
            if b["type"] == "toolCall":
                r["tool_calls"] += 1
                res = results.get((sid, b["id"]))
                r["tool_errors"] += res is True
                r["tool_missing"] += res is None
    return r


# --------------------------------------------------------------------------- tests


def test_deterministic(tmp_path: Path) -> None:
    opts = DemoOptions(days=7, sessions_per_day=3.0, seed=11)
    e1, e2 = generate(tmp_path / "a", opts), generate(tmp_path / "b", opts)
    assert e1 == e2
    t1, t2 = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert t1 == t2
    assert generate(tmp_path / "c", DemoOptions(days=7, sessions_per_day=3.0, seed=12)) != e1


def test_layout(small: tuple[Path, Expected]) -> None:
    out, _ = small
    for agent in SMALL.agents:
        sdir = out / "agents" / agent / "sessions"
        index = json.loads((sdir / "sessions.json").read_text())
        assert f"agent:{agent}:main" in index
        assert all(k.startswith(f"agent:{agent}:") for k in index)
        for entry in index.values():
            assert isinstance(entry["sessionId"], str)
            assert isinstance(entry["updatedAt"], int)
    keys = [
        k
        for a in SMALL.agents
        for k in json.loads((out / "agents" / a / "sessions" / "sessions.json").read_text())
    ]
    for kind in (
        ":telegram:dm:",
        ":cron:",
        ":subagent:",
        ":hook:",
        ":telegram:group:",
        ":thread:",
        ":topic:",
    ):
        assert any(kind in k for k in keys), kind
    sub = [k for k in keys if ":subagent:" in k]
    index_all = {
        k: v
        for a in SMALL.agents
        for k, v in json.loads(
            (out / "agents" / a / "sessions" / "sessions.json").read_text()
        ).items()
    }
    assert all(index_all[k]["spawnedBy"] and index_all[k]["label"] for k in sub)
    names = [p.name for p in (out / "agents").rglob("*") if p.is_file()]
    for pattern in (
        r"\.jsonl\.reset\.2026-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$",
        r"\.jsonl\.deleted\.[^.]+\.\d{3}Z$",
        r"\.jsonl\.deleted\..+\.zst$",
        r"\.jsonl\.bak\.",
        r"\.checkpoint\." + _UUID + r"\.jsonl$",
        r"\.trajectory\.jsonl$",
        r"\.acp-stream\.jsonl$",
        r"-topic-\d+\.jsonl$",
        r"^2026-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z_" + _UUID + r"\.jsonl$",
    ):
        assert any(re.search(pattern, n) for n in names), pattern
    assert list((out / "agents").glob("*/sessions/active-memory/*.jsonl"))
    jobs = json.loads((out / "cron" / "jobs.json").read_text())["jobs"]
    assert {j["agentId"] for j in jobs} == set(SMALL.agents)
    runs = json.loads((out / "subagents" / "runs.json").read_text())
    assert runs["version"] == 2
    pruned = [r for r in runs["runs"].values() if r["childSessionKey"] not in index_all]
    assert pruned
    assert all(r["cleanup"] == "delete" for r in pruned)
    logs = sorted((out / "logs").glob("openclaw-*.log"))
    assert logs
    first = orjson.loads(logs[0].read_bytes().split(b"\n")[0])
    assert first["_meta"]["parentNames"] == ["openclaw"]
    assert "time" in first


def test_fork_copies_parent(small: tuple[Path, Expected]) -> None:
    out, _ = small
    forks = [p for p in (out / "agents").rglob("*.jsonl") if re.match(r"^2026-.*Z_", p.name)]
    assert forks
    for fork in forks:
        lines = fork.read_bytes().split(b"\n")
        header = orjson.loads(lines[0])
        assert header["id"] in fork.name
        assert header["parentSession"]
        parent_id = re.search(_UUID, header["parentSession"]).group(0)  # type: ignore[union-attr]
        parent = next(p for p in fork.parent.iterdir() if p.name.startswith(parent_id))
        plines = parent.read_bytes().split(b"\n")
        assert orjson.loads(plines[0])["timestamp"] < header["timestamp"]
        assert lines[1:4] == plines[1:4]  # same ids, timestamps and usage


def test_quirk_lines(small: tuple[Path, Expected]) -> None:
    out, exp = small
    blob = b"".join(
        p.read_bytes() for p in (out / "agents").rglob("*.jsonl*") if not p.name.endswith(".zst")
    )
    for bad in (b"\nnull\n", b"\n[1,2]\n", b"\n\n", b'"message":null}'):
        assert bad in blob
    assert b"Caf\xe9" in blob  # invalid UTF-8 inside a string
    assert b'"input":"' in blob  # a string usage field
    assert b'"cacheWrite":-42' in blob
    for model in (b"delivery-mirror", b"gateway-injected", b'"stopReason":"injected"'):
        assert model in blob
    assert b"0.000015000000000000002" in blob or re.search(rb"\d\.\d+00000000000\d", blob)
    assert exp.bad_lines > 0
    headerless = [
        p
        for p in (out / "agents").rglob("*.jsonl")
        if p.stat().st_size and b'"type":"session"' not in p.read_bytes()[:200]
    ]
    assert headerless
    assert any(p.stat().st_size == 0 for p in (out / "agents").rglob("*.jsonl"))


def test_zst_decompresses(small: tuple[Path, Expected]) -> None:
    out, _ = small
    zsts = list((out / "agents").rglob("*.zst"))
    assert zsts
    for z in zsts:
        data = zstandard.ZstdDecompressor().decompressobj().decompress(z.read_bytes())
        assert orjson.loads(data.split(b"\n")[0])["type"] == "session"


def test_expected_consistency(default: tuple[Path, Expected]) -> None:
    out, e = default
    assert sum(e.calls_by_model.values()) == e.llm_calls
    assert sum(e.calls_by_day_utc.values()) == e.llm_calls
    assert 0 < e.failed_calls < e.llm_calls
    assert e.tool_errors + e.tool_missing < e.tool_calls
    assert e.tool_missing > 0
    assert e.tool_errors > 0
    days = sorted(e.calls_by_day_utc)
    assert len(days) == 42
    assert (days[0], days[-1]) == ("2026-10-01", "2026-11-11")
    providers = {p for p, _ in e.calls_by_model}
    assert {"anthropic", "openai", "google", "openrouter", "ollama"} <= providers
    assert ("openrouter", "anthropic/claude-sonnet-4-5") in e.calls_by_model
    files = [p for p in out.rglob("*") if p.is_file()]
    assert e.files_written == len(files)
    assert e.bytes_written == sum(p.stat().st_size for p in files)
    j = expected_to_json(e)
    assert json.loads(json.dumps(j)) == j


def test_expected_matches_read_back(default: tuple[Path, Expected]) -> None:
    out, e = default
    r = _read_back(out)
    for k in (
        "sessions",
        "llm_calls",
        "failed_calls",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "tool_calls",
        "tool_errors",
        "tool_missing",
        "calls_by_model",
        "calls_by_day_utc",
        "bad_lines",
        "lines_written",
    ):
        assert r[k] == getattr(e, k), k
    assert r["logged_cost_usd"] == pytest.approx(e.logged_cost_usd, rel=1e-9)


def test_no_quirks_is_clean(tmp_path: Path) -> None:
    e = generate(tmp_path, DemoOptions(days=4, include_quirks=False))
    assert e.bad_lines == 0
    names = [p.name for p in (tmp_path / "agents").rglob("*") if p.is_file()]
    assert all(n == "sessions.json" or re.fullmatch(_UUID + r"\.jsonl", n) for n in names)
    assert _read_back(tmp_path)["llm_calls"] == e.llm_calls


def test_timestamps_stay_in_range(small: tuple[Path, Expected]) -> None:
    out, _ = small
    lo, hi = "2026-10-01T00:00:00.000Z", "2026-10-16T00:00:00.000Z"
    stamps = re.compile(rb'"timestamp":"([^"]+)"')
    for p in (out / "agents").rglob("*.jsonl*"):
        if p.name.endswith(".zst"):
            continue
        for ts in stamps.findall(p.read_bytes()):
            assert lo <= ts.decode() < hi, (p.name, ts)
    near = [
        t
        for t in (
            m.decode()
            for p in (out / "agents").rglob("*.jsonl")
            for m in stamps.findall(p.read_bytes())
        )
        if t[11:16]
        in (
            "23:55",
            "23:56",
            "23:57",
            "23:58",
            "23:59",
            "00:00",
            "00:01",
            "00:02",
            "00:03",
            "00:04",
            "00:05",
        )
    ]
    assert near


def test_big_line(tmp_path: Path) -> None:
    size = 50_000_000
    e = generate(tmp_path, DemoOptions(days=1, sessions_per_day=1.0, big_line_bytes=size))
    longest = 0
    for p in (tmp_path / "agents").rglob("*.jsonl"):
        with p.open("rb") as f:
            for line in f:
                longest = max(longest, len(line))
    assert abs(longest - size) < size * 0.01
    assert e.bytes_written > size


def test_target_bytes(tmp_path: Path) -> None:
    target = 20_000_000
    e = generate(tmp_path, DemoOptions(days=3, target_bytes=target))
    assert e.bytes_written >= target
    assert e.bytes_written == sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert len(e.calls_by_day_utc) > 3


def test_refuses_non_empty_dir(tmp_path: Path) -> None:
    (tmp_path / "stale.jsonl").write_text("{}\n")
    with pytest.raises(FileExistsError):
        generate(tmp_path, DemoOptions(days=1))
