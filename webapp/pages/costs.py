"""Costs: how far the costs can be trusted (accounting.md §5). The effective cost, the list
price and the logged cost of the range; the share of cost by source (override, logged,
priced, unknown); models with no known price, each with the override entry that would price
it; calls whose logged cost and list price disagree; cache savings by model and over time."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import figures_costs as FC
from webapp import format as fmt
from webapp import queries as Q
from webapp.pagekit import View, empty_state, guarded
from webapp.pricehints import overrides_file, reprice_hint
from webapp.queries import costs as QC
from webapp.timeranges import local_datetime

SOURCE_COLUMNS = [
    C.col("label", "Source", minWidth=120),
    C.col("calls", "Calls", "int"),
    C.col("call_share", "Share of calls", "pct"),
    C.col("cost", "Cost", "money"),
    C.col("share", "Share of cost", "pct"),
    C.col("list_price", "List price", "money"),
]
UNPRICED_COLUMNS = [
    C.col("provider", "Provider", minWidth=110),
    C.col("model", "Model", minWidth=160),
    C.col("calls", "Calls", "int"),
    C.col("unknown_calls", "Cost unknown", "int"),
    C.col("tokens", "Tokens", "int"),
    C.col("input", "Input", "int"),
    C.col("output", "Output", "int"),
    C.col("logged", "Logged cost", "money"),
    C.col("last", "Last call", minWidth=150),
]
# The two differences the page shows, named the same in headers, subtitle and any export:
# per model in USD, per call relative to the list price.
DIFF_USD = "Logged − list ($)"
DIFF_PCT = "Logged − list (%)"
FLAG_COLUMNS = [
    C.col("provider", "Provider", minWidth=110),
    C.col("model", "Model", minWidth=160),
    C.col("mismatches", "Logged ≠ list (> 5 %)", "int", minWidth=150),
    C.col("zero_with_price", "Logged 0, list > 0", "int", minWidth=140),
    C.col("logged", "Logged", "money"),
    C.col("list_price", "List price", "money"),
    C.col(
        "difference",
        DIFF_USD,
        "money",
        minWidth=130,
        headerTooltip="The flagged calls' logged cost minus their list price, in USD",
    ),
]
RECENT_COLUMNS = [
    C.col("time", "Time", minWidth=150),
    C.col("session", "Session", "link", minWidth=140),
    C.col("model", "Model", minWidth=160),
    C.col("logged", "Logged", "money"),
    C.col("list_price", "List price", "money"),
    C.col(
        "diff_pct",
        DIFF_PCT,
        "pct",
        minWidth=130,
        headerTooltip="(logged − list) / list: the call's logged cost against its list price",
    ),
    C.col("flag_text", "Flag", minWidth=130),
]
_FLAGS = {"mismatch": "logged ≠ list", "zero": "logged 0"}


def layout(search: str = "", **_: Any) -> Any:
    return html.Div(
        [
            html.H3("Costs", className="page-title"),
            dcc.Loading(html.Div(id="costs-body"), delay_show=400),
        ]
    )


def _cards(totals: dict[str, Any], unpriced: int, flagged: int) -> Any:
    return dbc.Row(
        [
            C.metric_card(
                "costs-card-cost",
                "Effective cost",
                fmt.money(totals["cost"]),
                hint="What every chart shows: override, else logged cost, else list price",
            ),
            C.metric_card(
                "costs-card-list",
                "List price",
                fmt.money(totals["list_price"]),
                hint="The calls' tokens at the price table's (or your overrides') prices",
            ),
            C.metric_card(
                "costs-card-logged",
                "Logged cost",
                fmt.money(totals["logged"]),
                hint="What the gateway logged (usage.cost.total)",
            ),
            C.metric_card(
                "costs-card-savings",
                "Cache savings",
                fmt.money(totals["savings"]),
                hint="Cache-read tokens at the input price, minus at the cache-read price",
            ),
            C.metric_card(
                "costs-card-unpriced",
                "Calls without a price",
                fmt.integer(unpriced),
                hint="Calls whose model has no known price",
            ),
            C.metric_card(
                "costs-card-flagged",
                "Disagreeing calls",
                fmt.integer(flagged),
                hint="Logged cost differs from the list price by > 5 %, or is 0 with a price",
            ),
        ],
        className="g-3",
    )


def _sources(rows: list[dict[str, Any]], view: View) -> Any:
    for r in rows:
        r["label"] = FC.SOURCE_LABELS.get(r["source"], r["source"])
    return C.section(
        "Cost by source",
        dbc.Row(
            [
                dbc.Col(
                    C.graph("costs-source-share", FC.source_share(rows, view.list_price), 300),
                    lg=5,
                ),
                dbc.Col(C.grid("costs-source-grid", rows, SOURCE_COLUMNS, height=250), lg=7),
            ],
            className="g-3 align-items-center",
        ),
        subtitle="Which rule gave each call's cost: your override, the logged cost, the list "
        "price, or none (unknown: counted as $0).",
    )


def _unpriced(rows: list[dict[str, Any]], view: View) -> Any:
    title = "Models with no known price"
    if not rows:
        return C.section(title, C.no_data("Every call in this range has a known price."))
    for r in rows:
        r["last"] = local_datetime(r["last_ms"], view.tz).strftime("%Y-%m-%d %H:%M")
    entries = overrides_file(rows)
    return C.section(
        title,
        C.grid("costs-unpriced-grid", rows, UNPRICED_COLUMNS, height=300),
        html.Div(
            [
                html.Span(
                    "Override entries to paste into your price overrides file", className="me-2"
                ),
                dcc.Clipboard(target_id="costs-overrides", title="Copy", className="copy-button"),
            ],
            className="mt-3 mb-1 small text-secondary d-flex align-items-center",
        ),
        html.Pre(entries, id="costs-overrides", className="command-block override-block"),
        html.Div(
            [
                "Fill in the prices, save the file, then recompute the stored costs with ",
                html.Code(reprice_hint(), id="costs-reprice-hint"),
                ".",
            ],
            className="small",
        ),
        subtitle="Calls whose cost source is unknown, or that have tokens but no list price.",
    )


def _disagreements(
    counts: list[dict[str, Any]],
    recent: list[dict[str, Any]],
    names: dict[str, str],
    view: View,
) -> Any:
    title = "Logged cost vs list price"
    if not counts:
        return C.section(title, C.no_data("No call's logged cost disagrees with its list price."))
    for r in recent:
        r["time"] = local_datetime(r["ts_ms"], view.tz).strftime("%Y-%m-%d %H:%M:%S")
        r["session"] = C.session_link(r["session_id"], names[r["session_id"]], view.search)
        r["model"] = f"{r['provider']}/{r['model']}"
        r["flag_text"] = _FLAGS.get(r["flag"], r["flag"])
    return C.section(
        title,
        C.grid("costs-flag-grid", counts, FLAG_COLUMNS, height=300),
        html.Div(
            f"Most recent {len(recent)} flagged call{'s' if len(recent) != 1 else ''}",
            className="mt-3 mb-1 small text-secondary",
        ),
        C.grid(
            "costs-recent-grid",
            recent,
            RECENT_COLUMNS,
            height=420,
            page_size=20 if len(recent) > 20 else None,
        ),
        subtitle="Calls whose logged cost differs from the list price by more than 5 %, and "
        f"calls logged at $0 although the model has a price. {DIFF_USD}: the flagged calls' "
        f"logged cost minus their list price, in USD; {DIFF_PCT}: a call's (logged − list) / "
        "list.",
    )


def _savings(conn: Any, view: View) -> Any:
    unit, starts = view.buckets(conn)
    by_model, series = QC.savings(conn, view.filters, starts)
    return dbc.Row(
        [
            dbc.Col(
                C.section("", C.graph("costs-savings-model", FC.savings_by_model(by_model))),
                lg=5,
            ),
            dbc.Col(
                C.section(
                    "",
                    C.graph("costs-savings-time", FC.savings_over_time(series, view.tz, unit)),
                ),
                lg=7,
            ),
        ],
        className="g-3",
    )


def body(conn: Any, view: View) -> Any:
    f = view.filters
    totals = QC.cost_totals(conn, f)
    if not totals["calls"]:
        return empty_state(conn, view, "No LLM calls in this range with these filters.")
    # per-call facts come from the raw table: ask the four questions at the same time
    sources, unpriced, counts, recent = Q.run_parallel(
        conn,
        lambda c: QC.cost_by_source(c, f),
        lambda c: QC.unpriced_models(c, f),
        lambda c: QC.disagreement_counts(c, f),
        lambda c: QC.recent_disagreements(c, f),
    )
    note = "Amounts in USD · charts show the " + (
        "list price (Cost: list price)" if view.list_price else "effective cost"
    )
    return html.Div(
        [
            html.Div(note, id="costs-note", className="range-caption"),
            _cards(totals, sum(r["calls"] for r in unpriced), sum(r["flagged"] for r in counts)),
            _sources(sources, view),
            _unpriced(unpriced, view),
            _disagreements(
                counts, recent, Q.session_names(conn, (r["session_id"] for r in recent)), view
            ),
            _savings(conn, view),
        ]
    )


@callback(Output("costs-body", "children"), Input("state", "data"), Input("tick", "n_intervals"))
def render(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, body)
