"""Alerts: sessions over a cost threshold (default $1) or a token threshold (default 100k) in
the range, and days whose cost spikes above a multiple of the trailing 7-day average.
Thresholds live in the URL. Acknowledging writes ``alert_acks`` rows (the webapp's only
write, through the writer engine)."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import queries as Q
from webapp.context import get_context
from webapp.pagekit import View, guarded, page_control_to_url
from webapp.state import parse_query
from webapp.timeranges import DAY_MS, local_datetime

COLUMNS = [
    C.col("rule", "Rule"),
    C.col("subject", "Session / day", "link", tooltipField="name"),
    C.col("agent", "Agent"),
    C.col("detail", "Detail"),
    C.col("status", "Status"),
    C.col("key", "Alert key", hide=True),
]


def _number(cid: str, label: str, value: float, step: float, minimum: float) -> Any:
    return dbc.Col(
        [
            html.Label(label, className="control-label"),
            dbc.Input(id=cid, type="number", value=value, step=step, min=minimum, debounce=True),
        ],
        xs=6,
        md=3,
        lg=2,
    )


def layout(search: str = "", **_: Any) -> Any:
    st = parse_query(search)
    return html.Div(
        [
            html.H3("Alerts", className="page-title"),
            dbc.Row(
                [
                    _number("alert-cost", "Session cost above ($)", st.cost_threshold, 0.01, 0),
                    _number("alert-tokens", "Session tokens above", st.token_threshold, 1000, 0),
                    _number("alert-spike", "Spike: × trailing average", st.spike_factor, 0.1, 1),
                    dbc.Col(
                        dbc.Switch(id="alert-show-acked", label="Show acknowledged", value=False),
                        xs=6,
                        md=3,
                        lg=2,
                        className="d-flex align-items-end",
                    ),
                    dbc.Col(
                        dbc.Button(
                            "Acknowledge selected", id="alert-ack", color="primary", size="sm"
                        ),
                        xs=6,
                        md=3,
                        lg=2,
                        className="d-flex align-items-end",
                    ),
                ],
                className="g-2 mb-3",
            ),
            html.Div(id="alert-ack-result", className="mb-2"),
            dcc.Store(id="alert-version", data=0),
            dcc.Loading(html.Div(id="alerts-body"), delay_show=400),
        ]
    )


def alert_rows(conn: Any, view: View) -> list[dict[str, Any]]:
    st, f = view.state, view.filters
    span = view.span(conn)

    def spikes(c: Any) -> list[dict[str, Any]]:
        if span is None:
            return []
        since = span[0] if not view.range.all_time else max(span[0], span[1] - 400 * DAY_MS)
        return Q.cost_spikes(c, f, st.spike_factor, since, span[1])

    rows, spike_rows = Q.run_parallel(
        conn, lambda c: Q.session_alerts(c, f, st.cost_threshold, st.token_threshold), spikes
    )
    rows += spike_rows
    acks = Q.acked(conn, [r["key"] for r in rows])
    search = view.search
    for r in rows:
        r["subject"] = (
            C.session_link(r["session_id"], r["name"], search) if r["session_id"] else r["name"]
        )
        ms = acks.get(r["key"])
        r["acked"] = ms is not None
        r["status"] = (
            "acknowledged " + local_datetime(ms, view.tz).strftime("%Y-%m-%d %H:%M")
            if ms
            else "open"
        )
    return rows


def body(conn: Any, view: View, show_acked: bool) -> Any:
    rows = alert_rows(conn, view)
    open_n = sum(not r["acked"] for r in rows)
    shown = rows if show_acked else [r for r in rows if not r["acked"]]
    summary = f"{open_n} open alert{'s' if open_n != 1 else ''}"
    if len(rows) - open_n:
        summary += f" · {len(rows) - open_n} acknowledged"
    return html.Div(
        [
            html.Div(summary, id="alerts-summary", className="range-caption"),
            C.grid(
                "alerts-grid",
                shown,
                COLUMNS,
                height=560,
                selectable=True,
            )
            if shown
            else C.no_data(
                "No alerts in this range. 🎉" if not rows else "Every alert is acknowledged."
            ),
        ]
    )


@callback(
    Output("alerts-body", "children"),
    Input("state", "data"),
    Input("tick", "n_intervals"),
    Input("alert-show-acked", "value"),
    Input("alert-version", "data"),
)
def render(state, _tick=None, show_acked=False, _version=0):
    if state is None:
        raise PreventUpdate
    return guarded(state, lambda conn, view: body(conn, view, bool(show_acked)))


@callback(
    Output("url", "search", allow_duplicate=True),
    Input("alert-cost", "value"),
    Input("alert-tokens", "value"),
    Input("alert-spike", "value"),
    State("url", "search"),
    prevent_initial_call=True,
)
def thresholds(cost, tokens, spike, search):
    if cost is None or tokens is None or spike is None:
        raise PreventUpdate
    return page_control_to_url(
        search, cost_threshold=float(cost), token_threshold=int(tokens), spike_factor=float(spike)
    )


@callback(
    Output("alert-ack-result", "children"),
    Output("alert-version", "data"),
    Input("alert-ack", "n_clicks"),
    State("alerts-grid", "selectedRows"),
    State("alert-version", "data"),
    prevent_initial_call=True,
)
def acknowledge(_n, selected, version):
    keys = [r["key"] for r in (selected or []) if not r.get("acked")]
    if not keys:
        return dbc.Alert(
            "Select one or more open alerts first.", color="secondary", duration=4000
        ), version
    ctx = get_context()
    try:
        n = Q.acknowledge(ctx.writer(), keys, ctx.now_ms())
    except Exception as exc:  # a read-only mount or a locked file: say so, keep the page
        return dbc.Alert(f"Could not record the acknowledgement: {exc}", color="danger"), version
    ctx.clear_cache()
    return dbc.Alert(
        f"Acknowledged {n} alert{'s' if n != 1 else ''}.",
        color="success",
        duration=4000,
        id="alert-ack-ok",
    ), (version or 0) + 1
