"""The ingest loop: one pass (``ingest``) or a daemon (``ingest --watch``).

Watch mode takes filesystem events (watchdog; ``--polling`` for Docker bind mounts and network
filesystems) as *hints*: any event wakes the loop, which runs an ordinary pass (a ``stat`` per
known file, then reads what grew), so a missed or coalesced event costs nothing but latency,
bounded by the periodic rescan. Writes are batched per pass; the WAL is checkpointed after
each pass so it stays bounded while the dashboard reads. SIGINT and SIGTERM stop it cleanly
between files, after committing what was read.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ingestor import migrate
from ingestor.config import IngestSettings
from ingestor.db import checkpoint, make_engine
from ingestor.pipeline import PassStats, Pipeline
from ingestor.pricing import Pricer
from ingestor.store import WAL_WAIT_MS, Store

log = logging.getLogger("agentbox.ingest")
DEBOUNCE_S = 0.05


def build(settings: IngestSettings) -> tuple[Engine, Pipeline]:
    engine = make_engine(settings.db_url)
    migrate.upgrade(engine)
    overrides: list[Any] = []
    if settings.price_overrides is not None:
        from ingestor.overrides import load_overrides

        overrides = list(load_overrides(settings.price_overrides))
    store = Store(engine, settings.host_id, Pricer(overrides))
    return engine, Pipeline(engine, store, settings.batch_lines, settings.bulk_min_bytes)


def closing_line(s: PassStats) -> str:
    return (
        f"{s.files} files ({s.files_read} read, {s.files_unchanged} unchanged, {s.skipped} "
        f"skipped), {s.lines:,} lines, {s.calls:,} calls, {s.errors} errors, "
        f"{s.warnings} warnings, {s.bytes / 1e6:.1f} MB in {s.seconds:.2f} s "
        f"({s.mb_per_s:.1f} MB/s)"
    )


def skipped_line(s: PassStats) -> str:
    """``skipped: 4 trajectory, 2 lock, 1 not-a-transcript`` (most first): files skipped by
    their name are never tracked, so this line is where a user sees them."""
    parts = sorted(s.skipped_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    return "skipped: " + ", ".join(f"{n} {reason}" for reason, n in parts)


def one_pass(settings: IngestSettings, pipeline: Pipeline) -> PassStats:
    if not settings.progress:
        return pipeline.run_pass(settings.sources)
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("ingesting"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return pipeline.run_pass(settings.sources, progress=progress)


def run(settings: IngestSettings) -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine, pipeline = build(settings)
    if not settings.watch:
        stats = one_pass(settings, pipeline)
        checkpoint(engine, truncate=True, optimize=True)
        out = sys.stderr if settings.progress else sys.stdout
        if stats.skipped_by_reason:
            print(skipped_line(stats), file=out)
        print(closing_line(stats), file=out)
        return
    Daemon(settings, engine, pipeline).run()


class Daemon:
    """Watch mode: events are hints, rescans are the guarantee."""

    def __init__(self, settings: IngestSettings, engine: Engine, pipeline: Pipeline) -> None:
        self.settings = settings
        self.engine = engine
        self.pipeline = pipeline
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.passes = 0
        self.total_calls = 0

    def _signal(self, signum: int, _frame: Any) -> None:
        log.info("received %s: stopping after the current file", signal.Signals(signum).name)
        self.stop.set()
        self.wake.set()

    def _observer(self) -> Any:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        wake = self.wake

        class Hint(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type != "opened" and event.event_type != "closed_no_write":
                    wake.set()

        obs = (
            PollingObserver(timeout=self.settings.poll_interval_s)
            if self.settings.polling
            else Observer()
        )
        self._hint = Hint()
        self._watched: set[str] = set()
        self._named_seen = -1  # the pipeline's index_version last looked at
        self._watch_more(obs)
        return obs

    def _watch_more(self, obs: Any) -> bool:
        """Watch every source that exists now (one missing at the start may appear later), the
        folders an openclaw.json moved session stores and logs to, and the folder of each
        transcript a sessions.json names outside them (an absolute ``sessionFile``): their
        appends then wake the daemon too, not only the rescans. True when a folder was added:
        what changed in it between the pass that found it and its watch is then read by
        another pass at once, not at the next rescan."""
        roots = [Path(s) for s in self.settings.sources]
        wanted = [(p if p.is_dir() else p.parent, True) for p in roots if p.exists()]
        wanted += [
            (Path(d), True)
            for d in self.pipeline.config_dirs
            if not any(Path(d).is_relative_to(r) for r in roots)
        ]
        if self.pipeline.index_version != self._named_seen:  # not at every pass: an index
            self._named_seen = self.pipeline.index_version  # may name thousands of files
            for named in self.pipeline.index_files.values():
                for f, _agent in named:
                    if not any(f.is_relative_to(r) for r in roots) and f.parent.is_dir():
                        wanted.append((f.parent, False))
        added = False
        for d, recursive in wanted:
            if str(d) not in self._watched:
                try:
                    obs.schedule(self._hint, str(d), recursive=recursive)
                    added = True
                except OSError as exc:  # e.g. out of inotify watches: the rescans still see it
                    log.warning("cannot watch %s: %s", d, exc)
                self._watched.add(str(d))
        return added

    def run(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._signal)
            signal.signal(signal.SIGTERM, self._signal)
        obs = self._observer()
        obs.start()
        log.info("watching %s", ", ".join(str(s) for s in self.settings.sources))
        last_scan = 0.0
        last_beat = time.monotonic()
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                due = now - last_scan >= self.settings.rescan_interval_s
                if due or self.wake.is_set():
                    self.wake.clear()
                    time.sleep(DEBOUNCE_S)  # let a burst of appends land in one pass
                    self._pass()
                    if self._watch_more(obs):
                        self.wake.set()
                    last_scan = time.monotonic()
                if time.monotonic() - last_beat >= self.settings.heartbeat_interval_s:
                    last_beat = time.monotonic()
                    # opportunistic: a reader in a long transaction must not stall appends
                    checkpoint(self.engine, truncate=True, optimize=True, wait_ms=WAL_WAIT_MS)
                    log.info(
                        "heartbeat: %d passes, %d calls ingested since start",
                        self.passes,
                        self.total_calls,
                    )
                timeout = max(
                    0.05, self.settings.rescan_interval_s - (time.monotonic() - last_scan)
                )
                self.wake.wait(min(timeout, self.settings.heartbeat_interval_s))
        finally:
            obs.stop()
            obs.join(timeout=5)
            # never hold a stop back for a reader (docker stop allows 10 s): what is left in
            # the log is checkpointed by the next start
            checkpoint(self.engine, truncate=True, optimize=True, wait_ms=WAL_WAIT_MS)
            log.info("stopped")

    def _pass(self) -> None:
        try:
            stats = self.pipeline.run_pass(self.settings.sources, stop=self.stop)
        except Exception:  # one bad pass must not kill the daemon
            log.exception("ingest pass failed; retrying on the next event or rescan")
            self.pipeline.reload()
            time.sleep(1)
            return
        self.passes += 1
        self.total_calls += stats.calls
        if stats.lines:
            log.info("%s", closing_line(stats))
        checkpoint(self.engine)
