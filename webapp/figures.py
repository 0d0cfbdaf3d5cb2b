"""Rows -> Plotly figures. Pure: no SQL, no Dash callbacks. Every figure has a title,
labelled axes and hover details; time axes show the viewer's local time.

Figures are plain dicts in Plotly's JSON shape: building ``go.Figure`` objects (validation,
template deep copies) cost ~100 ms per figure, more than every query of a page together."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from webapp.timeranges import local_datetime

TOKEN_TYPES = (
    ("input", "Input", "#4c78a8"),
    ("output", "Output", "#f58518"),
    ("cache_read", "Cache read", "#54a24b"),
    ("cache_write", "Cache write", "#b279a2"),
)
PALETTE = (
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d",
    "#bab0ac", "#eeca3b",
)  # fmt: skip


Fig = dict[str, Any]
_AXIS = {"gridcolor": "#e9ecef", "linecolor": "#ced4da", "zerolinecolor": "#dee2e6",
         "automargin": True}  # fmt: skip


class _Go:
    """Trace builders with the names Plotly uses (plain dicts)."""

    @staticmethod
    def Bar(**kw: Any) -> dict[str, Any]:
        return {"type": "bar", **_flat(kw)}

    @staticmethod
    def Scatter(**kw: Any) -> dict[str, Any]:
        return {"type": "scatter", **_flat(kw)}

    @staticmethod
    def Pie(**kw: Any) -> dict[str, Any]:
        return {"type": "pie", **_flat(kw)}

    @staticmethod
    def Figure(data: Any = None) -> Fig:
        traces = [] if data is None else (list(data) if isinstance(data, list) else [data])
        return {"data": traces, "layout": {}}


go = _Go()


def _flat(kw: dict[str, Any]) -> dict[str, Any]:
    """``marker_color=...`` -> ``{"marker": {"color": ...}}`` (Plotly's magic underscores)."""
    out: dict[str, Any] = {}
    for k, v in kw.items():
        if "_" in k and k.split("_", 1)[0] in ("marker", "line"):
            head, tail = k.split("_", 1)
            out.setdefault(head, {})[tail] = v
        else:
            out[k] = v
    return out


def _layout(fig: Fig, title: str, xtitle: str, ytitle: str, **kw: Any) -> Fig:
    unified = kw.pop("unified", True)
    layout = fig["layout"]
    layout.update(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font={
            "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "color": "#2a3f5f",
        },
        margin={"l": 60, "r": 16, "t": 48, "b": 80},
        legend={"orientation": "h", "yanchor": "top", "y": -0.3, "x": 0},
        hovermode="x unified" if unified else "closest",
        xaxis={**_AXIS, "title": {"text": xtitle}},
        yaxis={**_AXIS, "title": {"text": ytitle}, "rangemode": "tozero"},
    )
    for k, v in kw.items():
        if k.startswith("yaxis_"):
            layout["yaxis"][k[6:]] = v
        else:
            layout[k] = v
    return fig


def empty(title: str, message: str = "No data in this range") -> Fig:
    fig = go.Figure()
    _layout(fig, title, "", "")
    fig["layout"]["annotations"] = [
        {"text": message, "showarrow": False, "font": {"size": 14, "color": "#6c757d"},
         "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}
    ]  # fmt: skip
    fig["layout"]["xaxis"]["visible"] = False
    fig["layout"]["yaxis"]["visible"] = False
    return fig


def _x(rows: Sequence[dict[str, Any]], tz: str) -> list[Any]:
    return [local_datetime(r["bucket_ms"], tz) for r in rows]


def cost_over_time(
    rows: Sequence[dict[str, Any]], tz: str, unit: str, spikes: Sequence[bool] = ()
) -> Fig:
    title = f"Cost per {unit}"
    if not rows:
        return empty(title)
    x = _x(rows, tz)
    fig = go.Figure(
        go.Bar(
            x=x,
            y=[r["cost"] for r in rows],
            name="Cost",
            marker_color="#4c78a8",
            hovertemplate="%{x}<br>Cost: $%{y:,.4f}<extra></extra>",
        )
    )
    marks = [i for i, s in enumerate(spikes) if s]
    if marks:
        fig["data"].append(
            go.Scatter(
                x=[x[i] for i in marks],
                y=[rows[i]["cost"] for i in marks],
                mode="markers",
                name="Spike",
                marker={"symbol": "triangle-down", "size": 13, "color": "#e45756"},
                hovertemplate="Spike: $%{y:,.4f}<extra></extra>",
            )
        )
    return _layout(fig, title, f"Time ({tz})", "Cost (USD)", yaxis_tickprefix="$")


def tokens_over_time(rows: Sequence[dict[str, Any]], tz: str, unit: str) -> Fig:
    title = f"Tokens per {unit} by type"
    if not rows:
        return empty(title)
    x = _x(rows, tz)
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=[r[key] for r in rows],
                name=label,
                marker_color=color,
                hovertemplate=f"{label}: %{{y:,.0f}}<extra></extra>",
            )
            for key, label, color in TOKEN_TYPES
        ]
    )
    return _layout(fig, title, f"Time ({tz})", "Tokens", barmode="stack")


def calls_over_time(rows: Sequence[dict[str, Any]], tz: str, unit: str) -> Fig:
    title = f"LLM calls per {unit}"
    if not rows:
        return empty(title)
    x = _x(rows, tz)
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=[r["calls"] - r["failed"] for r in rows],
                name="Succeeded",
                marker_color="#54a24b",
                hovertemplate="Succeeded: %{y:,}<extra></extra>",
            ),
            go.Bar(
                x=x,
                y=[r["failed"] for r in rows],
                name="Failed",
                marker_color="#e45756",
                hovertemplate="Failed: %{y:,}<extra></extra>",
            ),
        ]
    )
    return _layout(fig, title, f"Time ({tz})", "Calls", barmode="stack")


def stacked_by_key(
    rows: Sequence[dict[str, Any]],
    tz: str,
    key: str,
    value: str,
    title: str,
    ytitle: str,
    *,
    money: bool = True,
    top: int = 9,
) -> Fig:
    """Stacked bars of ``value`` per bucket and ``key`` (the ``top`` largest keys; the rest is
    summed as "other")."""
    if not rows:
        return empty(title)
    totals: dict[str, float] = defaultdict(float)
    for r in rows:
        totals[r[key]] += r[value]
    keep = [k for k, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
    series: dict[str, dict[Any, float]] = defaultdict(lambda: defaultdict(float))
    buckets = sorted({r["bucket_ms"] for r in rows})
    for r in rows:
        name = r[key] if r[key] in keep else "other"
        series[name][r["bucket_ms"]] += r[value]
    fmt = "$%{y:,.4f}" if money else "%{y:,}"
    fig = go.Figure(
        [
            go.Bar(
                x=[local_datetime(b, tz) for b in buckets],
                y=[series[name].get(b, 0) for b in buckets],
                name=str(name),
                marker_color=PALETTE[i % len(PALETTE)],
                hovertemplate=f"{name}: {fmt}<extra></extra>",
            )
            for i, name in enumerate([*keep, *(["other"] if "other" in series else [])])
        ]
    )
    extra = {"yaxis_tickprefix": "$"} if money else {}
    return _layout(fig, title, f"Time ({tz})", ytitle, barmode="stack", **extra)


def share_donut(labels: Sequence[str], values: Sequence[float], title: str) -> Fig:
    if not values or sum(values) <= 0:
        return empty(title, "No cost in this range")
    fig = go.Figure(
        go.Pie(
            labels=list(labels),
            values=list(values),
            hole=0.55,
            sort=False,
            marker={"colors": PALETTE[: len(values)]},
            hovertemplate="%{label}<br>$%{value:,.4f} (%{percent})<extra></extra>",
            textinfo="percent",
        )
    )
    fig = _layout(fig, title, "", "", unified=False)
    fig["layout"]["legend"] = {"orientation": "v", "y": 0.5, "x": 1.02}
    return fig


def hbar(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    xtitle: str,
    *,
    hover: str = "%{y}: %{x:,}",
    color: str = "#4c78a8",
) -> Fig:
    if not values:
        return empty(title)
    fig = go.Figure(
        go.Bar(
            x=list(values)[::-1],
            y=list(labels)[::-1],
            orientation="h",
            marker_color=color,
            hovertemplate=hover + "<extra></extra>",
        )
    )
    fig = _layout(fig, title, xtitle, "", unified=False)
    fig["layout"]["yaxis"].update(rangemode="normal", automargin=True)
    return fig


def session_calls(calls: Sequence[dict[str, Any]], tz: str) -> Fig:
    """Each call's cost (markers, failed in red) and the running total (line)."""
    title = "Calls over time: cost per call and running total"
    if not calls:
        return empty(title, "This session has no LLM calls")
    x = [local_datetime(c["ts_ms"], tz) for c in calls]
    running, total = [], 0.0
    for c in calls:
        total += c["cost"]
        running.append(total)
    text = [
        f"{c['provider']}/{c['model']}<br>{c['total_tokens']:,} tokens"
        + (" — failed" if c["failed"] else "")
        for c in calls
    ]
    fig = go.Figure(
        [
            go.Scatter(
                x=x,
                y=[c["cost"] for c in calls],
                mode="markers",
                name="Cost per call",
                text=text,
                marker={
                    "size": 9,
                    "color": ["#e45756" if c["failed"] else "#4c78a8" for c in calls],
                },
                hovertemplate="%{x}<br>$%{y:,.4f}<br>%{text}<extra></extra>",
            ),
            go.Scatter(
                x=x,
                y=running,
                mode="lines",
                name="Running total",
                yaxis="y2",
                line={"color": "#f58518"},
                hovertemplate="Total so far: $%{y:,.4f}<extra></extra>",
            ),
        ]
    )
    fig = _layout(fig, title, f"Time ({tz})", "Cost per call (USD)", unified=False)
    fig["layout"]["yaxis"]["tickprefix"] = "$"
    fig["layout"].update(
        yaxis2={
            "title": {"text": "Running total (USD)"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "tickprefix": "$",
            "showgrid": False,
        },
        margin={"l": 60, "r": 60, "t": 48, "b": 80},
    )
    return fig


def token_breakdown(models: Sequence[dict[str, Any]]) -> Fig:
    """Tokens by type per model (horizontal stacked bars)."""
    title = "Tokens by type per model"
    if not models:
        return empty(title)
    names = [f"{m['provider']}/{m['model']}" for m in models]
    fig = go.Figure(
        [
            go.Bar(
                y=names,
                x=[m[key] for m in models],
                name=label,
                orientation="h",
                marker_color=color,
                hovertemplate=f"{label}: %{{x:,}}<extra></extra>",
            )
            for key, label, color in TOKEN_TYPES
        ]
    )
    fig = _layout(fig, title, "Tokens", "", barmode="stack", unified=False)
    fig["layout"]["yaxis"].update(automargin=True, rangemode="normal")
    return fig
