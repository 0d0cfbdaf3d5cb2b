"""Which files under a source are ours: the discover stage of the pipeline.

This module owns turning configured sources (state dirs, log dirs, single files, absolute
``sessionFile`` paths from ``sessions.json``) into a sorted, de-duplicated list of classified
candidates: JSONL transcripts and their archives, zstd archives, session indexes, per-agent
SQLite stores and gateway logs (accounting.md §1, openclaw-format.md §1-2, §9, §11-12).

* :func:`classify_name` decides by file name alone (pure). Plain ``*.jsonl`` is never enough:
  sidecars (trajectory, ACP stream, checkpoint) share the extension, and archives do not end
  in it.
* :func:`discover` walks with ``os.scandir`` only: it never opens a file and never stats more
  than a directory listing gives. A directory is recognized by what it contains: a state dir
  (``agents/``, ``openclaw.json``, ``sessions/`` or ``cron/``) is walked only where
  transcripts and stores live; anything else is walked generically, with pruning.
* Files skipped by name are counted by reason, never silently lost.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestor.openclaw_config import CONFIG_NAME, config_paths

__all__ = [
    "Candidate",
    "Discovery",
    "NameClass",
    "agent_for_path",
    "classify_name",
    "discover",
]

# -- classification by name ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameClass:
    """What a file name says about a file."""

    kind: str  # "transcript" | "sessions_index" | "sqlite_store" | "gateway_log" | "ignored"
    session_id: str | None = None  # id derived from the file name (transcripts), else None
    archive_reason: str | None = None  # "reset" | "deleted" | None
    compressed: bool = False  # name ends in .zst
    fork: bool = False  # fork-style name "<isoTs-with-dashes>_<uuid>.jsonl"
    ignore_reason: str | None = None  # for kind == "ignored"


def _ignored(reason: str) -> NameClass:
    return NameClass(kind="ignored", ignore_reason=reason)


_SESSIONS_INDEX = NameClass(kind="sessions_index")
_SQLITE_STORE = NameClass(kind="sqlite_store")
_GATEWAY_LOG = NameClass(kind="gateway_log")
_NOT_OURS = _ignored("not-ours")

SQLITE_STORE_NAME = "openclaw-agent.sqlite"

# `<file>.jsonl.reset.<ts>`, `<file>.jsonl.deleted.<ts>`, either optionally `.zst`. The archive
# timestamp is `toISOString()` with `:` → `-`; its only dot is the milliseconds' (`05.112Z`),
# so `….zst.tmp` (an archive being written) is not an archive.
_ARCHIVE_RE = re.compile(
    r"(?P<file>.+\.jsonl)\.(?P<reason>reset|deleted)\.(?P<ts>[0-9A-Za-z:_+-]+(?:\.\d+Z?)?)"
    r"(?P<zst>\.zst)?"
)
# Fork: `2026-03-02T09-14-05-112Z_<uuid>` (both `:` and `.` became `-`; a `.` is tolerated).
_FORK_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:[-.]\d+)?Z_(?P<id>.+)")
# `<id>.checkpoint.<uuid>.jsonl` (spring 2026 pre-compaction copies).
_CHECKPOINT_RE = re.compile(r".+\.checkpoint\.[^.]+\.jsonl")
# Gateway logs: openclaw-YYYY-MM-DD.log, rotated .N.log, profile openclaw-<profile>-…,
# and the clawdbot/moltbot names of earlier releases.
_LOG_RE = re.compile(
    r"(?:openclaw(?:-[A-Za-z0-9_.-]+?)?|clawdbot|moltbot)-\d{4}-\d{2}-\d{2}(?:\.\d+)?\.log"
)
# The common live names in one pass: optional fork timestamp, then a dot-free base.
_LIVE_RE = re.compile(
    r"(?:(?P<fork>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:-\d+)?Z)_)?"
    r"(?P<base>[A-Za-z0-9_%+=@~-][^./\\]*)\.jsonl"
)
# A session id in a file name: no dots (every sidecar uses a dot infix), no path separator.
_ID_RE = re.compile(r"[A-Za-z0-9_%+=@~-][^./\\]*")


def classify_name(name: str) -> NameClass:
    """Classify a file by its name only (pure; see accounting.md §1 and the format doc §2)."""
    if name.endswith(".jsonl"):
        return _classify_jsonl(name)
    if ".jsonl." in name:
        return _classify_jsonl_suffixed(name)
    if name.startswith("sessions.json"):
        return _classify_sessions_json(name)
    if name.startswith(".usage-cost-cache.json"):
        return _ignored("usage-cache")
    if name.endswith(".log"):
        return _GATEWAY_LOG if name == "openclaw.log" or _LOG_RE.fullmatch(name) else _NOT_OURS
    if name.startswith(SQLITE_STORE_NAME):
        return _SQLITE_STORE if name == SQLITE_STORE_NAME else _ignored("sqlite-sidecar")
    if name.endswith(".trajectory-path.json"):
        return _ignored("trajectory")
    return _generic_ignored(name)


def _generic_ignored(name: str) -> NameClass:
    if name.endswith(".lock"):
        return _ignored("lock")
    if name.endswith(".tmp"):
        return _ignored("tmp")
    return _NOT_OURS


def _classify_jsonl(name: str) -> NameClass:
    """A name ending in ``.jsonl``: a live transcript, a sidecar, or not ours."""
    m = _LIVE_RE.fullmatch(name)  # fast path: one regex for the common names
    if m:
        session_id = m.group("base").partition("-topic-")[0]
        if session_id:
            return NameClass("transcript", session_id, None, False, m.group("fork") is not None)
    if name.endswith(".trajectory.jsonl"):
        return _ignored("trajectory")
    if name.endswith(".acp-stream.jsonl"):
        return _ignored("acp-stream")
    if _CHECKPOINT_RE.fullmatch(name):
        return _ignored("checkpoint")
    base = name[: -len(".jsonl")]
    fork = False
    m = _FORK_RE.fullmatch(base)
    if m:
        base, fork = m.group("id"), True
    session_id = base.partition("-topic-")[0]
    if not _ID_RE.fullmatch(session_id):
        return _NOT_OURS
    return NameClass(kind="transcript", session_id=session_id, fork=fork)


def _classify_jsonl_suffixed(name: str) -> NameClass:
    """A name with ``.jsonl.`` inside: an archive, a backup, or a lock/temp file."""
    m = _ARCHIVE_RE.fullmatch(name)
    if m:
        inner = _classify_jsonl(m.group("file"))
        if inner.kind != "transcript":
            return inner  # an archived sidecar is still a sidecar
        return NameClass(
            kind="transcript",
            session_id=inner.session_id,
            archive_reason=m.group("reason"),
            compressed=m.group("zst") is not None,
            fork=inner.fork,
        )
    if ".jsonl.bak." in name:
        return _ignored("bak")
    return _generic_ignored(name)


def _classify_sessions_json(name: str) -> NameClass:
    if name == "sessions.json":
        return _SESSIONS_INDEX
    if name == "sessions.json.lock":
        return _ignored("lock")
    if name.startswith("sessions.json.bak"):
        return _ignored("bak")
    if name.endswith(".tmp"):
        return _ignored("tmp")
    return _NOT_OURS


# -- candidates --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file worth reading, with its source kind (schema ``SOURCE_KINDS``) and agent."""

    path: Path
    kind: str  # "jsonl" | "jsonl_zst" | "sessions_index" | "sqlite_store" | "gateway_log"
    agent_id: str  # agent folder under agents/<agentId>/..., "main" when unknown/legacy
    name: NameClass


@dataclass
class Discovery:
    """The result of one walk.

    ``ignored`` counts files skipped by name, by ``ignore_reason``; directories that could
    not be listed are counted under ``"unreadable-dir"``.
    """

    candidates: list[Candidate] = field(default_factory=list)
    ignored: collections.Counter[str] = field(default_factory=collections.Counter)
    missing_sources: list[Path] = field(default_factory=list)
    #: folders a state dir's ``openclaw.json`` moved transcripts or logs to (walked above;
    #: the daemon watches them too)
    config_dirs: list[str] = field(default_factory=list)


def source_kind(name: NameClass) -> str | None:
    """The ``sources.kind`` value for a classified name; ``None`` when ignored."""
    if name.kind == "transcript":
        return "jsonl_zst" if name.compressed else "jsonl"
    if name.kind == "ignored":
        return None
    return name.kind


def agent_for_path(path: Path) -> str:
    """The agent id of a file: the folder after ``agents`` (lower-cased), else ``"main"``.

    Only an ``agents/<id>/sessions/…`` or ``agents/<id>/agent/…`` layout counts, so an
    unrelated directory called ``agents`` higher up a path does not name an agent.
    """
    return _agent_for_parts(path.parts)


def _agent_for_parts(parts: Sequence[str]) -> str:
    for i in range(len(parts) - 3, -1, -1):
        if parts[i] == "agents" and parts[i + 2] in ("sessions", "agent"):
            return parts[i + 1].lower()
    return "main"


# -- walking -----------------------------------------------------------------------------------

MAX_DEPTH = 6
_PRUNED_DIRS = frozenset({"workspace", "node_modules", ".git", "media"})
_HIDDEN_ALLOWED = (".openclaw", ".clawdbot", ".moltbot", ".moldbot")
_STATE_MARKER_DIRS = ("agents", "sessions", "cron")


def _prune(name: str) -> bool:
    """Whether the generic walk skips a directory of this name."""
    if name in _PRUNED_DIRS:
        return True
    return name.startswith(".") and not name.startswith(_HIDDEN_ALLOWED)


class _PathMaker:
    """``Path(path)`` for many files in few directories, fast.

    Parsing a full path string is most of discovery's cost for 10,000 files. On CPython
    3.11-3.12 a child of an already-parsed directory ``Path`` can be made without parsing
    (``_make_child_relpath``, what ``Path.iterdir`` uses); elsewhere this falls back to
    ``Path(path)``.
    """

    def __init__(self) -> None:
        self._dirs: dict[str, Callable[[str], Path] | None] = {}

    def __call__(self, path: str) -> Path:
        head, sep, name = path.rpartition(os.sep)
        if not sep or not name:
            return Path(path)
        make = self._dirs.get(head, _MISSING)
        if make is _MISSING:
            make = getattr(Path(head or os.sep), "_make_child_relpath", None)
            self._dirs[head] = make
        return Path(path) if make is None else make(name)


_MISSING: Any = object()


class _Walker:
    """Collects candidates; one instance per :func:`discover` call."""

    def __init__(self) -> None:
        # resolved path -> (path, kind, agent, name); Candidates are built once, at the end
        self.found: dict[str, tuple[str, str, str, NameClass]] = {}
        self.ignored: collections.Counter[str] = collections.Counter()
        self.config_dirs: list[str] = []

    def add(self, path: str, name: str, agent: str | None = None, is_symlink: bool = False) -> None:
        """Classify the file at ``path`` (absolute, no dir symlinks); derive ``agent`` if None."""
        nc = classify_name(name)
        kind = source_kind(nc)
        if kind is None:
            self.ignored[nc.ignore_reason or "not-ours"] += 1
            return
        key = os.path.realpath(path) if is_symlink else path
        known = self.found.get(key)
        # Two names for one file (a symlink and its target): keep the real path, else the
        # smaller path, so the result does not depend on directory listing order.
        if known is None or (known[0] != key and (path == key or path < known[0])):
            if agent is None:
                agent = _agent_for_parts(path.split(os.sep))
            self.found[key] = (path, kind, agent, nc)

    def candidates(self) -> list[Candidate]:
        """The candidates, sorted as their ``Path`` objects would sort (by components)."""
        # Mapping the separator to the lowest character makes plain string order equal to
        # component-wise order, without building Path objects to compare.
        rows = sorted(self.found.values(), key=lambda row: row[0].replace(os.sep, "\0"))
        to_path = _PathMaker()
        return [Candidate(to_path(path), kind, agent, nc) for path, kind, agent, nc in rows]

    def listdir(self, path: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(path) as it:
                return list(it)
        except FileNotFoundError:
            return []
        except OSError:  # PermissionError, NotADirectoryError, EIO…: skip, not fatal
            self.ignored["unreadable-dir"] += 1
            return []

    def files(
        self, path: str, entries: list[os.DirEntry[str]], agent: str | None = None
    ) -> list[os.DirEntry[str]]:
        """Add the regular files (and symlinks to files) among ``entries`` of the directory
        ``path`` (their agent: ``agent``, else from the path); return its sub-directories
        (symlinks to directories are not followed)."""
        dirs: list[os.DirEntry[str]] = []
        agent = agent or _agent_for_parts([*path.split(os.sep), ""])
        add = self.add
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    dirs.append(e)
                elif e.is_symlink():
                    if e.is_file():  # follows the link; broken links and dir links skipped
                        add(e.path, e.name, agent, is_symlink=True)
                elif e.is_file(follow_symlinks=False):
                    add(e.path, e.name, agent)
            except OSError:
                continue
        return dirs

    def walk_sessions(self, path: str, depth: int = 0, agent: str | None = None) -> None:
        """A sessions dir and its sub-dirs (``active-memory/``, import archives)."""
        for d in self.files(path, self.listdir(path), agent):
            if depth < MAX_DEPTH and not _prune(d.name):
                self.walk_sessions(d.path, depth + 1, agent)

    def walk_state(self, entries: list[os.DirEntry[str]], depth: int) -> None:
        """A state dir (or an agent dir): only where transcripts and stores live.

        Its ``.openclaw*``-style sub-dirs are walked too: a home dir that happens to hold an
        ``agents/`` or ``sessions/`` folder must not hide the real state dirs inside it.
        """
        agents = _subdir(entries, "agents")
        agent_ids: list[str] = []
        if agents is not None:
            for agent in self.listdir(agents.path):
                if _is_dir_no_follow(agent):
                    agent_ids.append(agent.name)
                    self.walk_agent(self.listdir(agent.path))
        self.walk_agent(entries)  # legacy `S/sessions/` (agent "main"), or an agent dir itself
        if any(e.name == CONFIG_NAME for e in entries):
            self.walk_config(os.path.dirname(entries[0].path), agent_ids)
        for e in entries:
            if e.name.startswith(_HIDDEN_ALLOWED) and depth < MAX_DEPTH and _is_dir_no_follow(e):
                self.walk_dir(e.path, depth + 1)

    def walk_agent(self, entries: list[os.DirEntry[str]]) -> None:
        """``sessions/**`` and ``agent/openclaw-agent.sqlite`` of one agent dir."""
        sessions = _subdir(entries, "sessions")
        if sessions is not None:
            self.walk_sessions(sessions.path)
        agent = _subdir(entries, "agent")
        if agent is not None:
            store = os.path.join(agent.path, SQLITE_STORE_NAME)
            if os.path.isfile(store):
                self.add(store, SQLITE_STORE_NAME, is_symlink=os.path.islink(store))

    def walk_config(self, state_dir: str, agent_ids: list[str]) -> None:
        """Where the state dir's ``openclaw.json`` moved session stores and the gateway log
        (``session.store``, ``logging.file``: ingestor/openclaw_config.py)."""
        moved = config_paths(state_dir, agent_ids)
        for folder, agent in moved.session_dirs:
            if os.path.isdir(folder):
                self.config_dirs.append(folder)
                self.walk_sessions(folder, agent=agent)
        for log in moved.log_files:
            if os.path.isfile(log):
                self.config_dirs.append(os.path.dirname(log))
                key = os.path.realpath(log)
                self.found.setdefault(key, (key, "gateway_log", "main", _GATEWAY_LOG))

    def walk_dir(self, path: str, depth: int = 0) -> None:
        """Any other directory: recursive, pruned, switching to state-dir rules when one is met."""
        entries = self.listdir(path)
        if _looks_like_state_dir(entries):
            self.walk_state(entries, depth)
            return
        for d in self.files(path, entries):
            if depth < MAX_DEPTH and not _prune(d.name):
                self.walk_dir(d.path, depth + 1)


def _looks_like_state_dir(entries: list[os.DirEntry[str]]) -> bool:
    """A state dir holds ``agents/``, ``sessions/``, ``cron/`` or ``openclaw.json``.

    An agent dir (``agents/<id>``, holding ``sessions/``) matches too, and is walked the same
    way: its ``sessions/`` tree and ``agent/openclaw-agent.sqlite``.
    """
    for e in entries:
        name = e.name
        if name == "openclaw.json" or (name in _STATE_MARKER_DIRS and _is_dir_no_follow(e)):
            return True
    return False


def _subdir(entries: list[os.DirEntry[str]], name: str) -> os.DirEntry[str] | None:
    """The entry for a real (not symlinked) sub-directory called ``name``, if any."""
    for e in entries:
        if e.name == name and _is_dir_no_follow(e):
            return e
    return None


def _is_dir_no_follow(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def discover(sources: Sequence[Path], extra_files: Iterable[Path] = ()) -> Discovery:
    """Find and classify every candidate under ``sources`` plus ``extra_files``.

    A source that is a file is classified alone; a directory is walked (see the module
    docstring); a source that does not exist is listed in ``missing_sources``. Extra files
    (absolute ``sessionFile`` paths from ``sessions.json``) are classified by name and added
    when they exist. Candidates are unique by resolved path and sorted by path.
    """
    walker = _Walker()
    missing: list[Path] = []
    for source in sources:
        root = os.path.realpath(os.path.abspath(source))  # the source itself may be a link
        if os.path.isdir(root):
            walker.walk_dir(root)
        elif os.path.isfile(root):
            walker.add(root, os.path.basename(root))
        else:
            missing.append(source)
    for extra in extra_files:
        path = os.path.realpath(os.path.abspath(extra))
        if os.path.isfile(path):
            walker.add(path, os.path.basename(path))
    return Discovery(
        candidates=walker.candidates(),
        ignored=walker.ignored,
        missing_sources=missing,
        config_dirs=sorted(set(walker.config_dirs)),
    )
