"""What OpenClaw's own config (``S/openclaw.json``, JSON5) says about where its files are: the
two settings that move them out of the state dir's usual layout (openclaw-format.md §1, §9).

* ``session.store``: the path of the session index (``sessions.json``), which may contain
  ``{agentId}``; its folder then holds that agent's transcripts instead of
  ``agents/<agentId>/sessions/``. A relative path is taken relative to the state dir (the
  gateway resolves it against its own working directory, which no file records).
* ``logging.file``: one gateway log file instead of ``/tmp/openclaw/openclaw-YYYY-MM-DD.log``.

The file is user-edited JSON5 (comments, trailing commas, unquoted keys), read with the
``json5`` package; it is parsed again only when its size or mtime changed, since discovery
runs at every pass. A config that cannot be read or parsed moves nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import json5

CONFIG_NAME = "openclaw.json"
#: A config larger than this is not read (OpenClaw's are a few KB).
MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ConfigPaths:
    """Where a state dir's config moves files to."""

    #: (folder of a ``sessions.json``, the agent its transcripts belong to, None when the
    #: store is shared by every agent)
    session_dirs: tuple[tuple[str, str | None], ...] = ()
    #: gateway log files named by ``logging.file``
    log_files: tuple[str, ...] = ()


_NOTHING = ConfigPaths()
_cache: dict[str, tuple[tuple[int, int], Any]] = {}


def _load(path: str) -> Any:
    """The parsed config at ``path`` (cached by size and mtime), or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    stamp = (st.st_size, st.st_mtime_ns)
    hit = _cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    data: Any = None
    if st.st_size <= MAX_CONFIG_BYTES:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                data = json5.loads(fh.read())
        except (OSError, ValueError, RecursionError):
            data = None
    _cache[path] = (stamp, data)
    return data


def _get(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _resolve(state_dir: str, path: str) -> str:
    p = os.path.expanduser(path)
    return os.path.normpath(p if os.path.isabs(p) else os.path.join(state_dir, p))


def config_paths(state_dir: str, agent_ids: list[str]) -> ConfigPaths:
    """What ``state_dir/openclaw.json`` moves, for the agents known in the state dir
    (``agent_ids``: its ``agents/*`` folders; the config's own ``agents.list`` ids and
    ``main`` are added)."""
    cfg = _load(os.path.join(state_dir, CONFIG_NAME))
    if not isinstance(cfg, dict):
        return _NOTHING
    dirs: list[tuple[str, str | None]] = []
    store = _get(cfg, "session", "store")
    if isinstance(store, str) and store.strip():
        if "{agentId}" in store:
            ids = {a.lower() for a in agent_ids} | {"main"}
            listed = _get(cfg, "agents", "list")
            if isinstance(listed, list):
                ids |= {a["id"].lower() for a in listed if isinstance(a, dict) and _is_id(a)}
            for agent in sorted(ids):
                index = _resolve(state_dir, store.replace("{agentId}", agent))
                dirs.append((os.path.dirname(index), agent))
        else:
            dirs.append((os.path.dirname(_resolve(state_dir, store)), None))
    logs: list[str] = []
    log_file = _get(cfg, "logging", "file")
    if isinstance(log_file, str) and log_file.strip():
        logs.append(_resolve(state_dir, log_file))
    return ConfigPaths(tuple(dirs), tuple(logs))


def _is_id(entry: dict[str, Any]) -> bool:
    v = entry.get("id")
    return isinstance(v, str) and 0 < len(v) <= 64 and "/" not in v and v not in (".", "..")
