"""Sessions: a sortable, filterable grid of the sessions active in the range (numbers count
the calls in the range), each linking to its session page, with CSV download of the raw
values (session id and name, plain numbers, ISO 8601 times). It opens sorted by End, newest
first, with the column's sort marker; when the range holds more sessions than the grid shows,
the ones shown are the most recently active in the range."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import format as fmt
from webapp import queries as Q
from webapp.pagekit import View, empty_state, guarded

# Times as instants (ISO 8601 with the zone's offset): an hour repeated when summer time ends
# sorts by when it happened, not by its text.
_BY_INSTANT = {
    # a function expression (what dash-ag-grid's safe evaluator accepts, with d3 in scope)
    "function": "(function (a, b) { return (a ? +d3.isoParse(a) : 0) - "
    "(b ? +d3.isoParse(b) : 0); })"
}
COLUMNS = [
    C.col("session", "Session", "link", pinned="left", width=190, tooltipField="name"),
    # what a CSV export holds instead of the link (C.grid leaves links out): id and name
    C.col("session_id", "Session id", hide=True),
    C.col("name", "Session name", hide=True),
    C.col("agent", "Agent"),
    C.col(
        "kind",
        "Kind",
        headerTooltip="Kind: from the session's key in sessions.json (or a [cron:…] prompt); "
        "unknown: no key was ever seen for it, e.g. OpenClaw pruned its entry before the "
        "first ingest",
    ),
    C.col("channel", "Channel"),
    C.col("models", "Models", width=180),
    C.col("start", "Start", "datetime", comparator=_BY_INSTANT),
    # the grid opens sorted by it, newest first (its header shows the marker), as grid_rows are
    C.col("end", "End", "datetime", comparator=_BY_INSTANT, sort="desc"),
    C.col("calls", "Calls", "int"),
    C.col("failed", "Failed calls", "int"),
    C.col("tokens", "Tokens", "int"),
    C.col("cost", "Cost", "money"),
    C.col("tool_calls", "Tool calls", "int"),
    C.col("tool_errors", "Tool errors", "int"),
]


def grid_rows(rows: list[dict[str, Any]], view: View) -> list[dict[str, Any]]:
    """The grid's rows, newest end first (the order the grid opens in, with the End column's
    sort marker; ties: latest start, then id): raw values (what a CSV export gets), shown
    through the columns' formatters. Start and end are ISO 8601 local times with the zone's
    offset; the cost is rounded to 1e-9 USD only, as in the JSON reports (no floating-point
    noise such as 0.27306495000000003, and nothing a sum of the column could drift by)."""
    out = []
    rows = sorted(rows, key=lambda r: r["session_id"])
    rows.sort(key=lambda r: (r["ended_ms"] or 0, r["started_ms"] or 0), reverse=True)
    search = view.search  # computed once: it encodes the whole view state
    zone = ZoneInfo(view.tz)

    def when(ms: int | None) -> str:
        return C.iso_time(datetime.fromtimestamp(ms / 1000, zone)) if ms else ""

    for r in rows:
        out.append(
            {
                "session_id": r["session_id"],
                "name": r["name"],
                "agent": r["agent"],
                "kind": r["kind"],
                "channel": r["channel"],
                "models": r["models"],
                "calls": r["calls"],
                "failed": r["failed"],
                "tokens": r["tokens"],
                "cost": round(r["cost"], 9),
                "tool_calls": r["tool_calls"],
                "tool_errors": r["tool_errors"],
                "session": C.session_link(r["session_id"], str(r["name"]), search),
                "start": when(r["started_ms"]),
                "end": when(r["ended_ms"]),
            }
        )
    return out


def layout(search: str = "", **_: Any) -> Any:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H3("Sessions", className="page-title"), width="auto"),
                    dbc.Col(
                        dbc.Button(
                            "Download CSV",
                            id="sessions-csv",
                            color="secondary",
                            outline=True,
                            size="sm",
                        ),
                        width="auto",
                    ),
                ],
                className="align-items-center justify-content-between",
            ),
            dcc.Loading(html.Div(id="sessions-body"), delay_show=400),
        ]
    )


def body(conn: Any, view: View) -> Any:
    rows, total = Q.sessions_grid(conn, view.filters)
    shown = len(rows)
    note = f"{fmt.integer(total)} sessions active in the range"
    if shown < total:
        note += f" · showing the {fmt.integer(shown)} most recently active"
    note += " · numbers count the calls inside the range"
    return html.Div(
        [
            html.Div(note, id="sessions-note", className="range-caption"),
            C.grid(
                "sessions-grid",
                grid_rows(rows, view),
                view.basis_columns(COLUMNS),
                height=620,
                csv_name="sessions.csv",
                page_size=100,
            )
            if rows
            else empty_state(conn, view, "No session was active in this range with these filters."),
        ]
    )


@callback(Output("sessions-body", "children"), Input("state", "data"), Input("tick", "n_intervals"))
def render(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, body)


@callback(
    Output("sessions-grid", "exportDataAsCsv"),
    Input("sessions-csv", "n_clicks"),
    prevent_initial_call=True,
)
def export_csv(_n):
    return True
