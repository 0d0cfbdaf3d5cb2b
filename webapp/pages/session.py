"""One session (``/session/<id>``): its metadata and parent, calls over time with the cost of
each, tokens and cost per model, its tool calls with status and duration, and its
sub-agents / forks as a tree with own cost and cost including children (for a cron run: the
job's other runs).

Decision: this page always shows the whole session, all time, whatever the selected range and
the Agent, Kind, Provider and Model filters. A session is one conversation: its calls chart,
running total, tree and tool calls only make sense complete, and a range that cuts it (a
session across midnight, a custom day) would otherwise show a fragment with no sign of what is
missing. The page says so plainly under its title, where a range caption would be
(``session-scope``): "Whole session, all time" and, for a range other than all time, how many
of its calls (and how much of its cost) fall in the selected range, so the numbers of its row
on the Sessions page (which counts the range only) can be found again. The range stays in the
URL, so every link from here (parent, tree, cron runs, the navigation) keeps it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import figures as F
from webapp import figures_costs as FC
from webapp import format as fmt
from webapp import queries as Q
from webapp.pagekit import View, guarded
from webapp.queries.sessions import session_calls_between, session_name, session_tool_counts
from webapp.timeranges import local_datetime, span_text

MODEL_COLUMNS = [
    C.col("name", "Provider / model"),
    C.col("calls", "Calls", "int"),
    C.col("failed", "Failed calls", "int"),
    C.col("input", "Input", "int"),
    C.col("output", "Output", "int"),
    C.col("cache_read", "Cache read", "int"),
    C.col("cache_write", "Cache write", "int"),
    C.col("cost", "Cost", "money"),
]
TOOL_COLUMNS = [
    C.col("time", "Time"),
    C.col("tool", "Tool"),
    C.col("status", "Status"),
    C.col("duration_ms", "Duration", "ms"),
    C.col("args", "Arguments", minWidth=260, tooltipField="args"),
    C.col("error", "Error", minWidth=150, tooltipField="error"),
]
TREE_COLUMNS = [
    C.col("session", "Session", "link", minWidth=240),
    C.col("kind", "Kind"),
    C.col("calls", "Calls", "int"),
    C.col("own_cost", "Own cost", "money"),
    C.col("total_cost", "Cost incl. children", "money"),
]
RUN_COLUMNS = [
    C.col("session", "Run", "link"),
    C.col("start", "Started"),
    C.col("calls", "Calls", "int"),
    C.col("cost", "Cost", "money"),
]


def layout(search: str = "", session_id: str = "", **_: Any) -> Any:
    return html.Div(
        [
            dcc.Store(id="session-id", data=session_id),
            dcc.Loading(html.Div(id="session-body"), delay_show=400),
        ]
    )


def _t(ms: int | None, tz: str) -> str:
    return local_datetime(ms, tz).strftime("%Y-%m-%d %H:%M:%S") if ms else "—"


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``raw`` (> 0)."""
    exp = math.floor(math.log10(raw))
    for m in ("1", "2", "2.5", "5"):
        step = float(Decimal(m).scaleb(exp))  # exact decimals: 0.02, not 0.020000000000000004
        if step >= raw * (1 - 1e-9):
            return step
    return float(Decimal(1).scaleb(exp + 1))


def nice_axes(tops: Sequence[float], intervals: int = 5) -> list[tuple[float, int]]:
    """For axes whose values reach ``tops`` (>= 0): each axis's tick step and the common number
    of steps from 0 (at most ``intervals``, with 5 % headroom over each top), so every axis
    has round ticks and the axes' gridlines coincide."""
    steps = [nice_step(top * 1.05 / intervals) if top > 0 else 0.01 for top in tops]
    n = max(math.ceil(top * 1.05 / step - 1e-9) for top, step in zip(tops, steps, strict=True))
    return [(step, max(n, 1)) for step in steps]


def nice_cost_axes(fig: dict[str, Any]) -> dict[str, Any]:
    """The calls figure with round ticks from $0 on both cost axes (per call on the left,
    running total on the right) and their gridlines aligned; the right axis's title makes
    room for its tick labels instead of overlapping them."""
    data = fig.get("data") or []
    if len(data) != 2:  # no call: the empty figure
        return fig
    tops = [max((float(y) for y in trace["y"]), default=0.0) for trace in data]
    layout = fig["layout"]
    for name, (step, n) in zip(("yaxis", "yaxis2"), nice_axes(tops), strict=True):
        layout[name] = {
            **layout.get(name, {}),
            "range": [0, step * n],
            "tickmode": "linear",
            "tick0": 0,
            "dtick": step,
            "automargin": True,
        }
    layout["yaxis2"]["title"] = {**layout["yaxis2"].get("title", {}), "standoff": 12}
    layout["yaxis2"].pop("rangemode", None)
    return fig


RANGE_BAND_COLOR = "rgba(76, 120, 168, 0.12)"


def mark_range(fig: dict[str, Any], calls: Sequence[dict[str, Any]], view: View) -> dict[str, Any]:
    """The calls figure with the selected range shaded (a legend entry "Selected range") where
    it cuts the session: the page shows every call, the band shows which ones the range
    holds. Nothing for all time or a range holding the whole session; the band is clipped to
    the session's calls, so a range far away does not stretch the time axis."""
    rng = view.range
    if rng.since_ms is None or rng.until_ms is None or not calls or len(fig.get("data") or []) != 2:
        return fig
    first, last = calls[0]["ts_ms"], calls[-1]["ts_ms"]
    if rng.since_ms <= first and last < rng.until_ms:
        return fig
    lo, hi = max(rng.since_ms, first), min(rng.until_ms, last)
    if lo > hi:
        return fig
    x0, x1 = (local_datetime(ms, view.tz).isoformat() for ms in (lo, hi))
    band = {
        "type": "rect", "xref": "x", "yref": "paper", "y0": 0, "y1": 1, "x0": x0, "x1": x1,
        "fillcolor": RANGE_BAND_COLOR, "line": {"width": 0}, "layer": "below",
        "showlegend": True, "name": "Selected range", "legendrank": 1002,
    }  # fmt: skip
    layout = fig.setdefault("layout", {})
    layout["shapes"] = [*(layout.get("shapes") or []), band]
    return fig


def _fact(label: str, value: Any) -> Any:
    return html.Div(
        [html.Span(label + ": ", className="text-secondary"), value], className="kpi-inline"
    )


def _calls(n: int) -> str:
    return f"{fmt.integer(n)} call{'' if n == 1 else 's'}"


def scope_text(
    view: View, calls: int, cost: float, in_range: tuple[int, float] | None, filtered: bool
) -> str:
    """What this page counts, said where a range caption would be: the whole session, and how
    much of it the selected range holds (``in_range``: its calls and cost there; None for all
    time). ``filtered``: the view has Agent, Kind, Provider or Model filters (not applied)."""
    text = "Whole session, all time"
    if in_range is not None:
        n, part = in_range
        where = f"the selected range ({_range_words(view)})"
        if calls == 0:
            text += " · it has no LLM call"
        elif n == calls:
            both = "its" if calls == 1 else "all"
            text += f" · {both} {_calls(calls)} {'lies' if calls == 1 else 'lie'} in {where}"
        elif n == 0:
            text += f" · none of its {_calls(calls)} lies in {where}"
        else:
            text += (
                f" · {fmt.integer(n)} of its {_calls(calls)} ({fmt.money(part)} of "
                f"{fmt.money(cost)}) {'lies' if n == 1 else 'lie'} in {where}"
            )
    if filtered:
        text += " · the Agent, Kind, Provider and Model filters do not apply here"
    return text


def _range_words(view: View) -> str:
    rng = view.range
    assert rng.since_ms is not None and rng.until_ms is not None
    span = span_text(rng.since_ms, rng.until_ms, view.tz)
    label = "" if view.state.range == "custom" else f"{rng.label}, "
    return f"{label}{span}, {view.tz}"


def body(conn: Any, view: View, session_id: str) -> Any:
    info = Q.session_info(conn, session_id)
    if info is None:
        return C.not_found(f"No session with id {session_id!r} in this database.")
    tz, search = view.tz, view.search
    lp = view.list_price
    models = Q.session_models(conn, session_id, list_price=lp)
    for m in models:
        m["name"] = f"{m['provider']}/{m['model']}"
    calls = Q.session_calls(conn, session_id, list_price=lp)
    tools = Q.session_tool_calls(conn, session_id)
    n_tools, n_tool_errors = session_tool_counts(conn, session_id)
    tree = Q.session_tree(conn, session_id, list_price=lp)
    total_cost = sum(m["cost"] for m in models)
    n_calls = sum(m["calls"] for m in models)
    rng = view.range
    in_range = (
        None
        if rng.all_time
        else session_calls_between(conn, session_id, rng.since_ms, rng.until_ms, list_price=lp)
    )
    st = view.state
    scope = scope_text(
        view,
        n_calls,
        total_cost,
        in_range,
        bool(st.agents or st.kinds or st.providers or st.models),
    )
    tokens = sum(m["input"] + m["output"] + m["cache_read"] + m["cache_write"] for m in models)
    parent = None
    if info.get("parent_session_id"):
        p = Q.session_info(conn, info["parent_session_id"])
        pid = info["parent_session_id"]
        parent = dcc.Link(
            session_name(p) if p else pid, href=f"/session/{pid}{search}", id="session-parent"
        )
    facts = [
        _fact("Agent", info["agent_id"]),
        _fact("Kind", info["kind"]),
        _fact("Key", html.Code(info.get("key") or "—")),
        _fact("Channel", info.get("channel") or "—"),
        _fact("Start", _t(info.get("started_ms"), tz)),
        _fact("End", _t(info.get("ended_ms"), tz)),
    ]
    if parent is not None:
        facts.append(_fact("Parent", parent))
    kpis = [
        _fact("Calls", html.B(fmt.integer(n_calls), id="session-calls")),
        _fact(
            "Failed calls",
            html.B(fmt.integer(sum(m["failed"] for m in models)), id="session-failed"),
        ),
        _fact("Tokens", html.B(fmt.count(tokens), id="session-tokens")),
        _fact(view.cost_word, html.B(fmt.money(total_cost), id="session-cost")),
        _fact("Tool calls", html.B(fmt.integer(n_tools), id="session-tool-calls")),
        _fact("Tool errors", html.B(fmt.integer(n_tool_errors), id="session-tool-errors")),
    ]
    if len(tree) > 1:
        kpis.append(
            _fact("Incl. children", html.B(fmt.money(tree[0]["total_cost"]), id="session-total"))
        )
    tool_rows = [
        {
            "time": _t(t["ts_ms"], tz),
            "tool": t["tool_name"] + (f" ({t['command_family']})" if t["command_family"] else ""),
            "status": t["status"],
            "duration_ms": t["duration_ms"],
            "args": (t["args_preview"] or "")[:160],
            "error": t["error_preview"] or "",
        }
        for t in tools
    ]
    calls_fig = mark_range(nice_cost_axes(F.session_calls(calls, tz)), calls, view)
    if lp:
        FC.mark_list_price(calls_fig)
    tree_rows = [
        {
            "session": C.session_link(
                n["session_id"],
                "\u2003" * n["depth"] + ("└ " if n["depth"] else "") + session_name(n),
                search,
            ),
            "kind": n["kind"],
            "calls": n["calls"],
            "own_cost": n["own_cost"],
            "total_cost": n["total_cost"],
        }
        for n in tree
    ]
    parts: list[Any] = [
        html.H3(session_name(info), className="page-title", id="session-title"),
        html.Div(html.Code(session_id), className="mb-1 small"),
        html.Div(scope, id="session-scope", className="range-caption"),
        C.section("", html.Div(facts, className="mb-2"), html.Div(kpis)),
        C.section("", C.graph("session-calls-fig", calls_fig)),
        dbc.Row(
            [
                dbc.Col(
                    C.section(
                        "Tokens and cost per model",
                        C.grid(
                            "session-models", models, view.basis_columns(MODEL_COLUMNS), height=200
                        ),
                    ),
                    lg=7,
                ),
                dbc.Col(
                    C.section(
                        "", C.graph("session-tokens-fig", F.token_breakdown(models), height=260)
                    ),
                    lg=5,
                ),
            ],
            className="g-3",
        ),
        C.section(
            "Sub-agents and forks",
            C.grid(
                "session-tree",
                tree_rows,
                view.basis_columns(TREE_COLUMNS),
                height=400,
            ),
            subtitle="Own cost and cost including every descendant",
        )
        if len(tree_rows) > 1
        else html.Div(),
    ]
    if info.get("cron_job_id"):
        runs = Q.cron_runs(conn, info["cron_job_id"], list_price=lp)
        run_rows = [
            {
                "session": C.session_link(r["session_id"], r["session_id"], search),
                "start": _t(r["started_ms"], tz),
                "calls": r["calls"],
                "cost": r["cost"],
            }
            for r in runs
        ]
        parts.append(
            C.section(
                f"Runs of cron job {info['cron_job_id']}",
                C.grid(
                    "session-cron-runs",
                    run_rows,
                    view.basis_columns(RUN_COLUMNS),
                    height=360,
                ),
            )
        )
    parts.append(
        C.section(
            "Tool calls",
            C.grid("session-tools", tool_rows, TOOL_COLUMNS, height=360)
            if tool_rows
            else C.no_data("No tool calls."),
            subtitle=f"The first {len(tool_rows)} of {fmt.integer(n_tools)}"
            if n_tools > len(tool_rows)
            else None,
        )
    )
    return html.Div(parts)


@callback(
    Output("session-body", "children"),
    Input("session-id", "data"),
    Input("state", "data"),
    Input("tick", "n_intervals"),
)
def render(session_id, state, _tick=None):
    if state is None or not session_id:
        raise PreventUpdate
    return guarded(state, lambda conn, view: body(conn, view, session_id))
