"""Sessions: a sortable, filterable grid of the sessions active in the range (numbers count
the calls in the range), each linking to its session page, with CSV download."""

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

COLUMNS = [
    C.col("session", "Session", "link", minWidth=180, pinned="left"),
    C.col("agent", "Agent", maxWidth=120),
    C.col("kind", "Kind", maxWidth=120),
    C.col("channel", "Channel", maxWidth=120),
    C.col("models", "Models", minWidth=150),
    C.col("start", "Start", minWidth=140),
    C.col("end", "End", minWidth=140),
    C.col("calls", "Calls", "int"),
    C.col("tokens", "Tokens", "int"),
    C.col("cost", "Cost", "money"),
    C.col("tool_calls", "Tool calls", "int"),
    C.col("errors", "Errors", "int"),
    C.col("session_id", "Session id", hide=True),
]


def grid_rows(rows: list[dict[str, Any]], view: View) -> list[dict[str, Any]]:
    out = []
    search = view.search  # computed once: it encodes the whole view state
    zone = ZoneInfo(view.tz)

    def when(ms: int | None) -> str:
        # "%Y-%m-%d %H:%M" of the local time (the zone looked up once; isoformat is faster
        # than strftime, and its first 16 characters are that text)
        return datetime.fromtimestamp(ms / 1000, zone).isoformat(" ", "minutes")[:16] if ms else ""

    for r in rows:
        out.append(
            {
                "session_id": r["session_id"],
                "agent": r["agent"],
                "kind": r["kind"],
                "channel": r["channel"],
                "models": r["models"],
                "calls": r["calls"],
                "tokens": r["tokens"],
                "cost": r["cost"],
                "tool_calls": r["tool_calls"],
                "errors": r["errors"],
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
