"""Tools: most used tools with error rate and p50/p95 duration, calls over time, ``exec``
grouped by command family, and the recent calls of one tool (status, duration, session link,
argument preview). The chosen tool is kept in the URL."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import figures as F
from webapp import format as fmt
from webapp import queries as Q
from webapp.pagekit import View, empty_state, guarded, page_control_to_url
from webapp.timeranges import local_datetime

SUMMARY_COLUMNS = [
    C.col("tool", "Tool"),
    C.col("calls", "Calls", "int"),
    C.col("errors", "Errors", "int"),
    C.col("error_rate", "Error rate", "pct"),
    C.col("missing", "No result", "int"),
    C.col("p50_ms", "p50 duration", "ms"),
    C.col("p95_ms", "p95 duration", "ms"),
]
RECENT_COLUMNS = [
    C.col("time", "Time"),
    C.col("status", "Status"),
    C.col("duration_ms", "Duration", "ms"),
    C.col("session", "Session", "link"),
    C.col("args", "Arguments", minWidth=260, tooltipField="args"),
    C.col("error", "Error", minWidth=160, tooltipField="error"),
]
FAMILY_COLUMNS = [
    C.col("family", "Command family"),
    C.col("calls", "Calls", "int"),
    C.col("errors", "Errors", "int"),
    C.col("error_rate", "Error rate", "pct"),
    C.col("avg_ms", "Avg duration", "ms"),
]


def layout(search: str = "", **_: Any) -> Any:
    return html.Div(
        [
            html.H3("Tools", className="page-title"),
            dcc.Loading(html.Div(id="tools-summary"), delay_show=400),
            dcc.Loading(html.Div(id="tools-recent"), delay_show=400),
            dcc.Loading(html.Div(id="tools-trends"), delay_show=400),
        ]
    )


def summary(conn: Any, view: View) -> Any:
    rows = Q.tools_summary(conn, view.filters)
    if not rows:
        return empty_state(conn, view, "No tool calls in this range with these filters.")
    names = [r["tool"] for r in rows]
    chosen = view.state.tool if view.state.tool in names else names[0]
    top = rows[:15]
    sampled = " (durations from the most recent 100,000 calls)" if rows[0]["sampled"] else ""
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        C.section(
                            "Most used tools",
                            C.grid("tools-grid", rows, SUMMARY_COLUMNS, height=340, page_size=50),
                            subtitle=f"Error rate = errors / calls{sampled}",
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        C.section(
                            "",
                            C.graph(
                                "tools-top",
                                F.hbar(
                                    [r["tool"] for r in top],
                                    [r["calls"] for r in top],
                                    "Calls per tool",
                                    "Calls",
                                ),
                                height=380,
                            ),
                        ),
                        lg=5,
                    ),
                ],
                className="g-3",
            ),
            dbc.Row(
                [
                    dbc.Col(html.Label("Recent calls of", className="me-2"), width="auto"),
                    dbc.Col(
                        dcc.Dropdown(
                            id="tools-pick",
                            options=names,
                            value=chosen,
                            clearable=False,
                            style={"minWidth": "220px"},
                        ),
                        width="auto",
                    ),
                ],
                className="align-items-center mb-2 g-2",
            ),
        ]
    )


def recent(conn: Any, view: View, tool: str) -> Any:
    calls = Q.recent_tool_calls(conn, view.filters, tool, limit=50)
    names = Q.session_names(conn, (c["session_id"] for c in calls))
    rows = [
        {
            "time": local_datetime(c["ts_ms"], view.tz).strftime("%Y-%m-%d %H:%M:%S"),
            "status": c["status"],
            "duration_ms": c["duration_ms"],
            "session": C.session_link(c["session_id"], names[c["session_id"]], view.search),
            "args": (c["args_preview"] or "")[:120],
            "error": c["error_preview"] or "",
        }
        for c in calls
    ]
    return C.section(
        f"Recent {tool} calls",
        C.grid("tools-recent-grid", rows, RECENT_COLUMNS, height=360) if rows else C.no_data(),
        subtitle=f"The {len(rows)} most recent in the range, newest first",
    )


def trends(conn: Any, view: View) -> Any:
    unit, starts = view.buckets(conn)
    series, fams = Q.run_parallel(
        conn,
        # every tool: the chart shows the 8 most used and sums the rest as "other", so that
        # it adds up to the table
        lambda c: Q.tool_series(c, view.filters, starts) if starts else [],
        lambda c: Q.exec_families(c, view.filters),
    )
    return dbc.Row(
        [
            dbc.Col(
                C.section(
                    "",
                    C.graph(
                        "tools-time",
                        F.stacked_by_key(
                            series,
                            view.tz,
                            "tool",
                            "calls",
                            f"Tool calls per {unit}",
                            "Calls",
                            money=False,
                            top=8,
                            unit=unit,
                            starts=starts,
                        ),
                    ),
                ),
                lg=7,
            ),
            dbc.Col(
                C.section(
                    "exec by command family",
                    C.grid("tools-families", fams, FAMILY_COLUMNS, height=300)
                    if fams
                    else C.no_data("No exec calls in this range."),
                    subtitle=(
                        f"{fmt.count(sum(f['calls'] for f in fams))} exec calls" if fams else None
                    ),
                ),
                lg=5,
            ),
        ],
        className="g-3",
    )


@callback(Output("tools-summary", "children"), Input("state", "data"), Input("tick", "n_intervals"))
def render_summary(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, summary)


@callback(Output("tools-trends", "children"), Input("state", "data"), Input("tick", "n_intervals"))
def render_trends(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, trends, secondary=True)


@callback(Output("tools-recent", "children"), Input("tools-pick", "value"), State("state", "data"))
def render_recent(tool, state):
    if state is None or not tool:
        raise PreventUpdate
    return guarded(state, lambda conn, view: recent(conn, view, tool))


@callback(
    Output("url", "search", allow_duplicate=True),
    Input("tools-pick", "value"),
    State("url", "search"),
    State("state", "data"),
    prevent_initial_call=True,
)
def pick_tool(tool, search, state):
    if not tool or (state or {}).get("tool") == tool:
        raise PreventUpdate
    return page_control_to_url(search, tool=tool)
