"""Timeline: cost (spikes marked), tokens stacked by type, and calls over time. The bucket
follows the range (hour / day / week / month) and can be overridden; the choice is kept in
the URL."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import figures as F
from webapp import figures_costs as FC
from webapp import queries as Q
from webapp.pagekit import View, guarded, page_control_to_url, range_hint
from webapp.state import BUCKETS, parse_query


def layout(search: str = "", **_: Any) -> Any:
    bucket = parse_query(search).bucket
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H3("Timeline", className="page-title"), width="auto"),
                    dbc.Col(
                        dbc.RadioItems(
                            id="timeline-bucket",
                            options=[{"label": b.capitalize(), "value": b} for b in BUCKETS],
                            value=bucket,
                            inline=True,
                            className="bucket-picker",
                        ),
                        width="auto",
                    ),
                ],
                className="align-items-center justify-content-between",
            ),
            dcc.Loading(html.Div(id="timeline-body"), delay_show=400),
        ]
    )


def body(conn: Any, view: View) -> Any:
    unit, starts = view.buckets(conn, view.state.bucket)
    rows = Q.usage_series(conn, view.filters, starts) if starts else []
    marks = view.spike_marks(conn, unit, starts, [r["cost"] for r in rows])
    n_spikes = sum(marks)
    note = f"{unit.capitalize()} buckets in {view.tz}"
    if n_spikes:
        note += f" · {n_spikes} spike{'s' if n_spikes > 1 else ''} marked (cost above "
        note += f"{view.state.spike_factor:g}× the trailing 7-bucket average)"
    cost_fig = F.cost_over_time(rows, view.tz, unit, marks)
    if view.list_price:
        FC.mark_list_price(cost_fig)
    return html.Div(
        [
            html.Div(note, id="timeline-note", className="range-caption"),
            *([hint] if (hint := range_hint(conn, view)) is not None else []),
            C.section("", C.graph("timeline-cost", cost_fig)),
            C.section("", C.graph("timeline-tokens", F.tokens_over_time(rows, view.tz, unit))),
            C.section("", C.graph("timeline-calls", F.calls_over_time(rows, view.tz, unit))),
        ]
    )


@callback(Output("timeline-body", "children"), Input("state", "data"), Input("tick", "n_intervals"))
def render(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, body)


@callback(
    Output("url", "search", allow_duplicate=True),
    Input("timeline-bucket", "value"),
    State("url", "search"),
    prevent_initial_call=True,
)
def pick_bucket(bucket, search):
    return page_control_to_url(search, bucket=bucket or "auto")
