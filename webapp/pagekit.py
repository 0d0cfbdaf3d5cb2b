"""What every page callback does around its own work: turn the stored view state into a
range and ``Filters``, open a read-only connection, and turn a missing, unreachable, empty or
slow database into a clear panel instead of a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import html
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from ingestor.db import DatabaseError, describe
from webapp import components as C
from webapp import queries as Q
from webapp.context import AppContext, get_context
from webapp.queries.usage import has_activity
from webapp.spikes import history_index, spikes
from webapp.state import ViewState, to_query, with_changes
from webapp.timeranges import HOUR_MS, TimeRange, auto_bucket, bucket_starts, resolve_range

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class View:
    """The resolved question of a page: state, range, filters."""

    state: ViewState
    range: TimeRange
    filters: Q.Filters
    ctx: AppContext

    @property
    def tz(self) -> str:
        return self.state.tz

    @property
    def search(self) -> str:
        """The query string of this view (links keep it)."""
        return to_query(self.state, self.ctx.default_tz)

    @property
    def list_price(self) -> bool:
        """Every page's cost figures show the list price (the global "Cost" control), not the
        cost; the filters carry it, so each ``cost`` metric follows."""
        return self.state.cost_basis == "list"

    @property
    def cost_word(self) -> str:
        """What the cost figures are called in this view: "Cost" or "List price"."""
        return "List price" if self.list_price else "Cost"

    def basis_columns(self, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Grid columns whose cost headers name the list price when the view shows it."""
        if not self.list_price:
            return columns

        def named(header: str) -> str:
            return header.replace("Cost", "List price").replace("cost", "list price")

        return [
            {**c, "headerName": named(c["headerName"])} if "cost" in c["field"] else c
            for c in columns
        ]

    def previous(self) -> Q.Filters | None:
        prev = self.range.previous()
        if prev is None:
            return None
        return self.filters.with_range(prev.since_ms, prev.until_ms)

    def span(self, conn: Connection) -> tuple[int, int] | None:
        """The range's bounds; for all time, the data's extent. Not cached: it is two index
        probes, and a cached extent made all-time charts lag the cards for up to 30 s (empty
        while a first ingest was landing)."""
        if self.range.since_ms is not None and self.range.until_ms is not None:
            return self.range.since_ms, self.range.until_ms
        return Q.data_extent(conn)

    def spike_marks(
        self, conn: Connection, unit: str, starts: list[int], costs: list[float]
    ) -> list[bool]:
        """Spike marks for the buckets of ``starts`` (whose costs are ``costs``) at the view's
        spike factor. The trailing average reaches back before the range, as the Alerts page
        does, so whether a bucket is marked never depends on where the range begins (a range
        starting on a spike's day marked nothing: it had no history)."""
        window = Q.SPIKE_WINDOW
        before: list[float] = []
        bounds = list(starts)
        if self.range.since_ms is not None and starts:
            # the longest a bucket can be (a day that leaves summer time has 25 hours)
            longest = HOUR_MS * {"hour": 1, "day": 25, "week": 7 * 25}.get(unit, 31 * 25)
            pre = bucket_starts(starts[0] - (window + 1) * longest, starts[0], unit, self.tz)
            pre = pre[-(window + 1) :]
            if len(pre) > 1 and pre[-1] == starts[0]:
                f = self.filters.with_range(pre[0], starts[0])
                rows = Q.usage_series(conn, f, pre, metrics=["cost"])
                got = {r["bucket_ms"]: r["cost"] for r in rows}
                before = [float(got.get(b, 0.0)) for b in pre[:-1]]
                bounds = pre[:-1] + bounds
        extent = Q.data_extent(conn)
        marks = spikes(
            before + costs,
            window=window,
            factor=self.state.spike_factor,
            min_excess=0.01,
            first=history_index(bounds, extent[0] if extent else None),
        )
        return marks[len(before) :]

    def buckets(self, conn: Connection, override: str | None = None) -> tuple[str, list[int]]:
        """(unit, bucket starts + end) for the range, following it unless overridden."""
        span = self.span(conn)
        if span is None:
            return "day", []
        unit = override if override and override != "auto" else auto_bucket(span[1] - span[0])
        if unit == "hour" and span[1] - span[0] > 400 * 86_400_000:
            unit = "day"  # keep charts readable (and fast): at most ~10k hour buckets
        return unit, bucket_starts(span[0], span[1], unit, self.tz)


def make_view(state_data: dict[str, Any] | None, ctx: AppContext | None = None) -> View:
    ctx = ctx or get_context()
    state = ViewState.from_dict(state_data, ctx.default_tz)
    rng = resolve_range(state.range, state.tz, ctx.now_ms(), state.start, state.end)
    filters = Q.Filters(
        since_ms=rng.since_ms,
        until_ms=rng.until_ms,
        tz=state.tz,
        agents=state.agents,
        kinds=state.kinds,
        providers=state.providers,
        models=state.models,
        cost_basis=state.cost_basis,
    )
    return View(state, rng, filters, ctx)


def _status(conn: Connection) -> str:
    missing = Q.schema_missing(conn)
    if missing:
        return "no-schema:" + ",".join(missing)
    return "empty" if Q.is_empty(conn) else "ok"


def page_control_to_url(search: str | None, **changes: Any) -> str:
    """A page-level control changed: the new query string (the shell syncs the state)."""
    return with_changes(search, get_context().default_tz, **changes)


def guarded(
    state_data: dict[str, Any] | None,
    body: Callable[[Connection, View], Any],
    *,
    secondary: bool = False,
    when_empty: bool = False,
) -> Any:
    """Run ``body(conn, view)``; any database problem becomes a panel. ``secondary``: the
    page's first part shows the panel of a missing, unreadable or empty database, so this part
    shows nothing then (one message a page; a time limit hit here is still shown here).
    ``when_empty``: ``body`` runs on a database with files but no usage too (the Ingest
    page: when every file was skipped, it says why)."""
    out = _guarded(state_data, body, when_empty)
    if secondary and getattr(out, "id", None) in ("db-error", "db-empty"):
        return None
    return out


def _guarded(
    state_data: dict[str, Any] | None, body: Callable[[Connection, View], Any], when_empty: bool
) -> Any:
    ctx = get_context()
    url = ctx.settings.db_url
    try:
        shown = describe(url)
    except DatabaseError:
        shown = url
    try:
        view = make_view(state_data, ctx)
        engine = ctx.engine()
        with engine.connect() as conn:
            status = ctx.cached("status", 5, lambda: _status(conn))
            if status.startswith("no-schema"):
                ctx.clear_cache()
                return C.database_error(
                    shown,
                    "The database has no telemetry tables yet (missing: "
                    f"{status.split(':', 1)[1]}).",
                )
            if status == "empty":
                files_seen = Q.has_sources(conn)
                if not (when_empty and files_seen):
                    ctx.clear_cache()
                    return C.empty_database(shown, files_seen=files_seen)
            return body(conn, view)
    except DatabaseError as exc:
        return C.database_error(shown, str(exc))
    except OperationalError as exc:
        ctx.clear_cache()
        if "interrupt" in str(exc.orig).lower() or "statement timeout" in str(exc.orig).lower():
            return C.timeout_panel(ctx.settings.query_timeout_ms)
        log.warning("database error: %s", exc)
        return C.database_error(shown, f"The database could not be read: {_one_line(exc)}")
    except (DBAPIError, SQLAlchemyError) as exc:
        ctx.clear_cache()
        log.warning("database error: %s", exc)
        return C.database_error(shown, f"The database could not be read: {_one_line(exc)}")


def _one_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0][:300] if str(orig).strip() else type(exc).__name__


def range_hint(
    conn: Connection,
    view: View,
    extent: tuple[int, int] | None = None,
    hint_id: str = "range-hint",
) -> Any:
    """When the chosen range holds nothing at all (whatever the filters) but the database
    has data (``extent``: the data's first and end ms, by default the calls' and messages'),
    a hint with the data's first and last local day and a link to "All time"; else None."""
    if view.range.all_time:
        return None
    if extent is None:
        if has_activity(conn, view.filters):
            return None
        extent = Q.data_extent(conn)
    if extent is None:
        return None
    tz = ZoneInfo(view.tz)
    first = datetime.fromtimestamp(extent[0] / 1000, tz).date().isoformat()
    last = datetime.fromtimestamp((extent[1] - 1) / 1000, tz).date().isoformat()
    href = with_changes(view.search, view.ctx.default_tz, range="all") or "?"
    return C.range_hint(view.range.label, first, last, href, hint_id)


def empty_state(conn: Connection, view: View, text: str, hint_id: str = "range-hint") -> Any:
    """A page's "nothing here" text, with the :func:`range_hint` when the range is empty."""
    hint = range_hint(conn, view, hint_id=hint_id)
    return html.Div([C.no_data(text), hint]) if hint is not None else C.no_data(text)
