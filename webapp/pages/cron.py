"""Cron jobs and sub-agents: cost per cron job and per sub-agent label over time, and a table
of runs, calls, tokens and cost per job / label in the range."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import figures as F
from webapp import queries as Q
from webapp.pagekit import View, empty_state, guarded
from webapp.timeranges import local_datetime

COLUMNS = [
    C.col("kind", "Kind"),
    C.col("name", "Cron job / label"),
    C.col("runs", "Sessions", "int"),
    C.col("calls", "Calls", "int"),
    C.col("failed", "Failed calls", "int"),
    C.col("tokens", "Tokens", "int"),
    C.col("cost", "Cost", "money"),
    C.col("last", "Last activity", minWidth=140),
]


def layout(search: str = "", **_: Any) -> Any:
    return html.Div(
        [
            html.H3("Cron jobs & sub-agents", className="page-title"),
            dcc.Loading(html.Div(id="cron-body"), delay_show=400),
        ]
    )


def body(conn: Any, view: View) -> Any:
    unit, starts = view.buckets(conn)
    table, series = Q.groups(conn, view.filters, starts)
    if not table:
        return empty_state(
            conn, view, "No cron or sub-agent calls in this range with these filters."
        )
    for r in table:
        r["last"] = local_datetime(r["last_ms"], view.tz).strftime("%Y-%m-%d %H:%M")
    cron = [r for r in series if r["kind"] == "cron"]
    sub = [r for r in series if r["kind"] == "subagent"]
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        C.section(
                            "",
                            C.graph(
                                "cron-cost",
                                F.stacked_by_key(
                                    cron,
                                    view.tz,
                                    "name",
                                    "cost",
                                    f"{view.cost_word} per {unit} by cron job",
                                    f"{view.cost_word} (USD)",
                                    unit=unit,
                                    starts=starts,
                                ),
                            ),
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        C.section(
                            "",
                            C.graph(
                                "subagent-cost",
                                F.stacked_by_key(
                                    sub,
                                    view.tz,
                                    "name",
                                    "cost",
                                    f"{view.cost_word} per {unit} by sub-agent label",
                                    f"{view.cost_word} (USD)",
                                    unit=unit,
                                    starts=starts,
                                ),
                            ),
                        ),
                        lg=6,
                    ),
                ],
                className="g-3",
            ),
            C.section(
                "Per cron job and sub-agent label",
                C.grid(
                    "cron-grid",
                    table,
                    view.basis_columns(COLUMNS),
                    height=520,
                ),
                subtitle="Numbers count the calls inside the range",
            ),
        ]
    )


@callback(Output("cron-body", "children"), Input("state", "data"), Input("tick", "n_intervals"))
def render(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, body)
