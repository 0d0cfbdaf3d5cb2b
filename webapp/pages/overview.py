"""Overview: the range's headline numbers, each with its change against the previous period
of equal length, plus cost over time and the cost share per model.

When the previous period lies wholly before the first recorded call or message, there is
nothing to compare with: the cards show no change (not "new" against an empty period) and a
note says the history starts later; when it is only partly covered, a note says so."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import figures as F
from webapp import figures_costs as FC
from webapp import format as fmt
from webapp import queries as Q
from webapp.pagekit import View, guarded, range_hint
from webapp.timeranges import local_label, span_text


def layout(search: str = "", **_: Any) -> Any:
    return html.Div(
        [
            html.H3("Overview", className="page-title"),
            dcc.Loading(html.Div(id="overview-cards"), delay_show=400),
            dcc.Loading(html.Div(id="overview-charts"), delay_show=400),
        ]
    )


def range_caption(view: View, conn: Any = None) -> str:
    rng = view.range
    if rng.all_time:
        return f"All time · {view.tz}"
    assert rng.since_ms is not None
    assert rng.until_ms is not None
    return f"{rng.label} · {span_text(rng.since_ms, rng.until_ms, view.tz)} ({view.tz})"


def cards(conn: Any, view: View) -> Any:
    cur = Q.overview(conn, view.filters)
    prev_f = view.previous()
    extent = Q.data_extent(conn) if prev_f is not None else None
    note = _previous_note(view, prev_f, extent)
    if (
        prev_f is not None
        and prev_f.until_ms is not None
        and extent
        and extent[0] >= prev_f.until_ms
    ):
        prev_f = None  # no history at all in the previous period: nothing to compare with
    prev = Q.overview(conn, prev_f) if prev_f else None

    def d(key: str) -> tuple[str, int]:
        return fmt.change(cur[key], prev[key] if prev else None)

    hit_delta = fmt.change_points(cur["hit_rate"], prev["hit_rate"] if prev else None)
    row1 = [
        C.metric_card(
            "card-cost",
            "List price" if view.list_price else "Cost",
            fmt.money(cur["cost"]),
            d("cost"),
            up_is_good=False,
        ),
        C.metric_card("card-sessions", "Sessions", fmt.count(cur["sessions"]), d("sessions")),
        C.metric_card("card-calls", "LLM calls", fmt.count(cur["calls"]), d("calls")),
        C.metric_card(
            "card-failed", "Failed calls", fmt.count(cur["failed"]), d("failed"), up_is_good=False
        ),
        C.metric_card("card-tools", "Tool calls", fmt.count(cur["tool_calls"]), d("tool_calls")),
        C.metric_card(
            "card-hit",
            "Cache hit rate",
            fmt.pct(cur["hit_rate"]),
            hit_delta,
            up_is_good=True,
            hint="cache read / (input + cache read + cache write)",
        ),
    ]
    row2 = [
        C.metric_card("card-input", "Input tokens", fmt.count(cur["input"]), d("input")),
        C.metric_card("card-output", "Output tokens", fmt.count(cur["output"]), d("output")),
        C.metric_card(
            "card-cache-read", "Cache-read tokens", fmt.count(cur["cache_read"]), d("cache_read")
        ),
        C.metric_card(
            "card-cache-write",
            "Cache-write tokens",
            fmt.count(cur["cache_write"]),
            d("cache_write"),
        ),
        C.metric_card(
            "card-savings",
            "Cache savings",
            fmt.money(cur["savings"]),
            d("savings"),
            up_is_good=True,
            hint="What cache-read tokens would have cost at the input price, minus their cost",
        ),
    ]
    hint = range_hint(conn, view) if not (cur["calls"] or cur["sessions"]) else None
    return html.Div(
        [
            html.Div(range_caption(view), id="range-caption", className="range-caption"),
            *([note] if note is not None else []),
            *([hint] if hint is not None else []),
            dbc.Row(row1, className="g-3"),
            dbc.Row(row2, className="g-3"),
        ]
    )


def _previous_note(view: View, prev: Any, extent: tuple[int, int] | None) -> Any:
    """A note when the period the changes compare with starts before the first recorded data
    (``extent``: the data's first and end ms): a "+140%" against half a period of history is
    no trend, and a period wholly before the history has nothing to compare with (the cards
    then show no change). One element either way (``previous-partial``, its first id)."""
    if prev is None or prev.since_ms is None or prev.until_ms is None or extent is None:
        return None
    if extent[0] <= prev.since_ms:
        return None
    first = local_label(extent[0], "day", view.tz)
    start = local_label(prev.since_ms, "day", view.tz)
    if extent[0] >= prev.until_ms:
        last = local_label(prev.until_ms - 1, "day", view.tz)
        return html.Div(
            f"No change is shown: the recorded history starts {first}, and there is no "
            f"history before it to compare with (the previous period runs from {start} to "
            f"{last}).",
            id="previous-partial",
            className="range-caption",
        )
    return html.Div(
        f"Changes compare with the previous period, from {start}, but the recorded history "
        f"starts {first}: that period is only partly covered.",
        id="previous-partial",
        className="range-caption text-warning",
    )


def charts(conn: Any, view: View) -> Any:
    unit, starts = view.buckets(conn)
    models, by_model = Q.models_and_series(conn, view.filters, starts, sessions=False)
    rows = Q.total_series(by_model, starts) if starts else []
    marks = view.spike_marks(conn, unit, starts, [r["cost"] for r in rows])
    names = [f"{m['provider']}/{m['model']}" for m in models]
    cost_fig = F.cost_over_time(rows, view.tz, unit, marks)
    share_fig = F.share_donut(names, [m["cost"] for m in models], "Cost share by model")
    if view.list_price:
        FC.mark_list_price(cost_fig)
        FC.mark_list_price(share_fig)
    return dbc.Row(
        [
            dbc.Col(
                C.section("", C.graph("overview-cost", cost_fig)),
                lg=8,
            ),
            dbc.Col(
                C.section(
                    "",
                    C.graph("overview-share", share_fig),
                ),
                lg=4,
            ),
        ],
        className="g-3",
    )


@callback(
    Output("overview-cards", "children"), Input("state", "data"), Input("tick", "n_intervals")
)
def render_cards(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, cards)


@callback(
    Output("overview-charts", "children"), Input("state", "data"), Input("tick", "n_intervals")
)
def render_charts(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, charts, secondary=True)
