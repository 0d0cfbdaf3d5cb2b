"""A batch: the rows read since the last commit, with the read positions they advance to.

The pipeline fills it (pairing tool calls with results it sees in the same batch and keeping
one row per message identity, owned by the earliest session); the store commits it in one
transaction. Pure data, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingestor.gateway_logs import GatewayEvent
from ingestor.normalize import (
    CallRow,
    EntryRecords,
    IndexEntry,
    MessageRow,
    ToolCallRow,
    apply_result,
)


def owner_rank(created_ms: int | None, session_id: str) -> tuple[int, int, str]:
    """Sort key of a row's owner: the earliest header wins, ties by session id; a session
    without a header loses to any session with one."""
    return (1, 0, session_id) if created_ms is None else (0, created_ms, session_id)


@dataclass(slots=True)
class SessionFacts:
    """What transcripts say about a session (headers, session_info, cron prompt)."""

    session_id: str
    agent_id: str
    created_ms: int | None = None
    cwd: str | None = None
    parent_session_id: str | None = None
    path: str | None = None
    title: str | None = None
    cron_job_id: str | None = None
    cron_name: str | None = None


@dataclass(slots=True)
class SourceUpdate:
    source_id: int
    values: dict[str, Any]
    lines: int = 0
    errors: int = 0


@dataclass(slots=True)
class ErrorRow:
    source_id: int
    path: str
    offset: int
    severity: str
    reason: str
    excerpt: str | None


@dataclass
class Batch:
    messages: dict[tuple[str, int], MessageRow] = field(default_factory=dict)
    calls: dict[tuple[str, int], CallRow] = field(default_factory=dict)
    tool_calls: dict[tuple[str, int, int], ToolCallRow] = field(default_factory=dict)
    sessions: dict[str, SessionFacts] = field(default_factory=dict)
    index: list[IndexEntry] = field(default_factory=list)
    index_agent: dict[str, str] = field(default_factory=dict)
    sources: dict[int, SourceUpdate] = field(default_factory=dict)
    errors: list[ErrorRow] = field(default_factory=list)
    # Gateway log lines (source_id, line_offset, event) and SQLite store high-water marks
    # ((source_id, session_id) -> (last seq read, its stamp)); committed with the rows
    # (pipeline_extra).
    gateway_events: list[tuple[int, int, GatewayEvent]] = field(default_factory=list)
    cursors: dict[tuple[int, str], tuple[int, str | None]] = field(default_factory=dict)
    # tool calls of this batch still waiting for a result, by (session, toolCallId)
    pending: dict[tuple[str, str], ToolCallRow] = field(default_factory=dict)
    # results of this batch that matched no call of this batch
    orphan_results: dict[tuple[str, str], MessageRow] = field(default_factory=dict)
    lines: int = 0
    _origin: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    # block indexes of each message's tool calls, so a replaced copy drops them directly
    _blocks: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.lines

    def add(self, rec: EntryRecords, source_id: int, offset: int) -> None:
        m = rec.message
        m_key = (m.entry_id, m.ts_ms)
        prev = self.messages.get(m_key)
        if prev is not None:
            if owner_rank(prev.session_created_ms, prev.session_id) <= owner_rank(
                m.session_created_ms, m.session_id
            ):
                return  # a copy (fork, archive, duplicate line) of a row we already hold
            self._drop(m_key)
        m_source = (source_id, offset)
        self.messages[m_key] = m
        self._origin[m_key] = m_source
        if rec.call is not None:
            self.calls[m_key] = rec.call
        if rec.tool_calls:
            self._blocks[m_key] = [tc.block_index for tc in rec.tool_calls]
        for tc in rec.tool_calls:
            self.tool_calls[(tc.entry_id, tc.ts_ms, tc.block_index)] = tc
            if tc.tool_call_id:
                pk = (tc.session_id, tc.tool_call_id)
                orphan = self.orphan_results.pop(pk, None)
                if orphan is not None:
                    self.pair(tc, orphan)
                else:
                    self.pending[pk] = tc
        if m.role == "toolResult" and m.tool_call_id:
            pk = (m.session_id, m.tool_call_id)
            call = self.pending.pop(pk, None)
            if call is not None:
                self.pair(call, m)
            else:
                self.orphan_results[pk] = m
        if rec.title is not None or rec.cron is not None:
            facts = self.sessions.get(m.session_id)
            if facts is None:
                facts = self.sessions[m.session_id] = SessionFacts(m.session_id, m.agent_id)
            if rec.title is not None:
                facts.title = rec.title
            if rec.cron is not None and facts.cron_job_id is None:
                facts.cron_job_id, facts.cron_name = rec.cron

    @staticmethod
    def pair(call: ToolCallRow, result: MessageRow) -> None:
        """Pair a call with its result message (also used by the store across batches)."""
        apply_result(
            call,
            result.entry_id,
            result.ts_ms,
            result.tool_is_error,
            result.tool_synthetic,
            result.tool_duration_ms,
            result.message_ts_ms,
            result.text_preview,
        )

    def _drop(self, key: tuple[str, int]) -> None:
        self.messages.pop(key, None)
        self.calls.pop(key, None)
        for idx in self._blocks.pop(key, ()):
            tc = self.tool_calls.pop((key[0], key[1], idx))
            if tc.tool_call_id:
                self.pending.pop((tc.session_id, tc.tool_call_id), None)

    def origin(self, key: tuple[str, int]) -> tuple[int, int]:
        return self._origin[key]

    def error(
        self,
        source_id: int,
        path: str,
        offset: int,
        reason: str,
        excerpt: bytes | None,
        severity: str = "error",
    ) -> None:
        text = None
        if excerpt is not None:
            text = bytes(excerpt[:200]).decode("utf-8", "replace").replace("\x00", "")
        self.errors.append(ErrorRow(source_id, path, offset, severity, reason[:500], text))
        upd = self.sources.get(source_id)
        if upd is not None and severity == "error":
            upd.errors += 1

    def facts(self, session_id: str, agent_id: str) -> SessionFacts:
        f = self.sessions.get(session_id)
        if f is None:
            f = self.sessions[session_id] = SessionFacts(session_id, agent_id)
        return f
