"""The running app's shared things, set once by ``create_app`` (or a test) and read by the
pages: settings, the read-only engine (created lazily, so a database that appears later is
picked up), the writer engine for acknowledgements, the default time zone and the clock.

Pages import this module, never ``webapp.app``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from sqlalchemy import Engine

from ingestor.config import ServeSettings
from ingestor.db import make_engine, make_readonly_engine


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class AppContext:
    settings: ServeSettings
    default_tz: str = "UTC"
    clock: Callable[[], int] = _wall_clock_ms
    _engine: Engine | None = None
    _writer: Engine | None = None
    _lock: Lock = field(default_factory=Lock)
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def engine(self) -> Engine:
        """The read-only engine (raises ingestor.db.DatabaseError while it cannot exist)."""
        with self._lock:
            if self._engine is None:
                self._engine = make_readonly_engine(
                    self.settings.db_url, statement_timeout_ms=self.settings.query_timeout_ms
                )
            return self._engine

    def writer(self) -> Engine:
        """The writer engine, used only to record alert acknowledgements."""
        with self._lock:
            if self._writer is None:
                self._writer = make_engine(self.settings.db_url)
            return self._writer

    def now_ms(self) -> int:
        return self.clock()

    def cached(self, key: str, ttl_s: float, compute: Callable[[], Any]) -> Any:
        """A small time-limited cache (filter choices, database state)."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and now - hit[0] < ttl_s:
            return hit[1]
        value = compute()
        self._cache[key] = (now, value)
        return value

    def clear_cache(self) -> None:
        self._cache.clear()

    def dispose(self) -> None:
        for e in (self._engine, self._writer):
            if e is not None:
                e.dispose()
        self._engine = self._writer = None


_current: AppContext | None = None


def set_context(ctx: AppContext) -> None:
    global _current
    _current = ctx


def get_context() -> AppContext:
    if _current is None:
        raise RuntimeError("the webapp context is not set: call webapp.app.create_app first")
    return _current
