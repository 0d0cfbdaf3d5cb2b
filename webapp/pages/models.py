"""Models: per provider and model the cost, tokens by type, calls, failed calls, sessions and
share of cost; cost over time by model; tokens by type per model."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import figures as F
from webapp import figures_costs as FC
from webapp import queries as Q
from webapp.pagekit import View, empty_state, guarded

COLUMNS = [
    C.col("provider", "Provider"),
    C.col("model", "Model"),
    C.col("cost", "Cost", "money"),
    C.col("share", "Share of cost", "pct"),
    C.col("calls", "Calls", "int"),
    C.col("failed", "Failed calls", "int"),
    C.col("sessions", "Sessions", "int"),
    C.col("input", "Input", "int"),
    C.col("output", "Output", "int"),
    C.col("cache_read", "Cache read", "int"),
    C.col("cache_write", "Cache write", "int"),
    C.col("savings", "Cache savings", "money"),
]


def layout(search: str = "", **_: Any) -> Any:
    return html.Div(
        [
            html.H3("Models", className="page-title"),
            dcc.Loading(html.Div(id="models-body"), delay_show=400),
        ]
    )


def body(conn: Any, view: View) -> Any:
    unit, starts = view.buckets(conn)
    rows, series = Q.models_and_series(conn, view.filters, starts)
    if not rows:
        return empty_state(conn, view, "Nothing in this range with these filters.")
    for r in series:
        r["name"] = f"{r['provider']}/{r['model']}"
    names = [f"{r['provider']}/{r['model']}" for r in rows]
    colors = F.key_colors(names)  # a model's colour, the same in both charts and every range
    cost_fig = F.stacked_by_key(
        series,
        view.tz,
        "name",
        "cost",
        f"Cost per {unit} by model",
        "Cost (USD)",
        unit=unit,
        starts=starts,
        colors=colors,
    )
    share_fig = F.share_donut(names, [r["cost"] for r in rows], "Share of cost", colors)
    tokens_fig = F.token_breakdown(rows)
    calls_fig = F.hbar(names, [r["calls"] for r in rows], "Calls per model", "Calls")
    # side by side: one height, enough for every model's bar in both
    bars_h = max(F.chart_heights(tokens_fig, 340)[0], F.chart_heights(calls_fig, 340)[0])
    columns = COLUMNS
    if view.list_price:
        FC.mark_list_price(cost_fig)
        FC.mark_list_price(share_fig)
        columns = [
            {**c, "headerName": "List price"} if c["field"] == "cost" else c for c in COLUMNS
        ]
    return html.Div(
        [
            C.section(
                "Cost, tokens and calls per model",
                C.grid("models-grid", rows, columns, height=560),
            ),
            dbc.Row(
                [
                    dbc.Col(
                        C.section(
                            "",
                            C.graph("models-cost-time", cost_fig),
                        ),
                        lg=8,
                    ),
                    dbc.Col(
                        C.section(
                            "",
                            C.graph("models-share", share_fig),
                        ),
                        lg=4,
                    ),
                ],
                className="g-3",
            ),
            dbc.Row(
                [
                    dbc.Col(C.section("", C.graph("models-tokens", tokens_fig, bars_h)), lg=6),
                    dbc.Col(C.section("", C.graph("models-calls", calls_fig, bars_h)), lg=6),
                ],
                className="g-3",
            ),
        ]
    )


@callback(Output("models-body", "children"), Input("state", "data"), Input("tick", "n_intervals"))
def render(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, body)
