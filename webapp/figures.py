"""Rows -> Plotly figures. Pure: no SQL, no Dash callbacks. Every figure has a title,
labelled axes and hover details; time axes show the viewer's local time.

Figures are plain dicts in Plotly's JSON shape: building ``go.Figure`` objects (validation,
template deep copies) cost ~100 ms per figure, more than every query of a page together."""

from __future__ import annotations

import itertools
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from webapp.timeranges import DAY_MS, HOUR_MS, local_datetime

TOKEN_TYPES = (
    ("input", "Input", "#4c78a8"),
    ("output", "Output", "#f58518"),
    ("cache_read", "Cache read", "#54a24b"),
    ("cache_write", "Cache write", "#b279a2"),
)


#: The colours of keyed series (models, tools, cron jobs...): Tableau 20 without its greys,
#: the light one of which is reserved for "other".
KEY_PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948", "#9c755f",
    "#ff9da7", "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#86bcb6", "#ff9d9a", "#d37295",
    "#d4a6c8", "#d7b5a6",
)  # fmt: skip
OTHER_COLOR = "#bab0ac"


def key_colors(keys: Iterable[str]) -> dict[str, str]:
    """A colour per key that depends on the key itself, not on its rank in a range: the key's
    CRC-32 picks its place in ``KEY_PALETTE``; keys that land on a taken colour take the next
    free one, in the order of their names (so two keys of one chart never share a colour while
    the palette lasts). Pass every key a page shows, so its charts agree. "other" is grey."""
    n = len(KEY_PALETTE)
    home = {k: zlib.crc32(k.encode()) % n for k in {str(k) for k in keys} - {"other"}}
    out: dict[str, str] = {"other": OTHER_COLOR}
    taken: set[int] = set()
    for name in sorted(home, key=lambda k: (home[k], k)):
        slot = home[name]
        if len(taken) < n:
            while slot in taken:
                slot = (slot + 1) % n
            taken.add(slot)
        out[name] = KEY_PALETTE[slot]
    return out


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
        # At the foot of the figure (not relative to the plot, whose height varies): a legend
        # of several rows then pushes the bottom margin instead of covering the axis title.
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
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


# bucket unit -> (nominal width in ms, dtick, tick format, hover format)
_UNITS: dict[str, tuple[int, Any, str, str]] = {
    "hour": (HOUR_MS, HOUR_MS, "%H:%M<br>%b %-d, %Y", "%b %-d, %Y %H:%M"),
    "day": (DAY_MS, DAY_MS, "%b %-d<br>%Y", "%b %-d, %Y"),
    "week": (7 * DAY_MS, 7 * DAY_MS, "%b %-d<br>%Y", "week of %b %-d, %Y"),
    "month": (30 * DAY_MS, "M1", "%b %Y", "%b %Y"),
}
#: Up to this many distinct buckets, a time axis is drawn from the buckets, not autoranged.
FEW_BUCKETS = 3


def _plotly_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def guess_unit(xs: Sequence[datetime]) -> str:
    """The bucket unit of local bucket starts when the caller does not say: the smallest
    gap between them, else day for a lone local midnight, else hour."""
    distinct = sorted(set(xs))
    gaps = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(distinct)]
    if gaps:
        gap = min(gaps)
        for unit in ("hour", "day", "week"):
            if gap <= _UNITS[unit][0] * 1.1:
                return unit
        return "month"
    if distinct and distinct[0].hour == 0 and distinct[0].minute == 0:
        return "day"
    return "hour"


def time_axis(fig: Fig, xs: Sequence[datetime], unit: str | None) -> Fig:
    """Bars one bucket wide and, with few buckets (where Plotly would zoom in on a bar of
    1 ms and label the axis in fractions of a second), an x range of the buckets plus one
    bucket either side, ticked once per bucket in the bucket's own format."""
    if not xs:
        return fig
    unit = unit if unit in _UNITS else guess_unit(xs)
    width, dtick, tickformat, hoverformat = _UNITS[unit]
    for trace in fig["data"]:
        if trace.get("type") == "bar" and unit != "month":
            trace["width"] = 0.8 * width
    xaxis = fig["layout"]["xaxis"]
    xaxis["hoverformat"] = hoverformat
    distinct = sorted(set(xs))
    if len(distinct) <= FEW_BUCKETS:
        pad = timedelta(milliseconds=width)
        xaxis.update(
            type="date",
            range=[_plotly_time(distinct[0] - pad), _plotly_time(distinct[-1] + pad)],
            tick0=_plotly_time(distinct[0]),
            dtick=dtick,
            tickformat=tickformat,
        )
        if unit == "month":
            for trace in fig["data"]:
                if trace.get("type") == "bar":
                    trace["width"] = 0.8 * width
    return fig


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
    fig = _layout(fig, title, f"Time ({tz})", "Cost (USD)", yaxis_tickprefix="$")
    return time_axis(fig, x, unit)


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
    fig = _layout(fig, title, f"Time ({tz})", "Tokens", barmode="stack")
    return time_axis(fig, x, unit)


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
    fig = _layout(fig, title, f"Time ({tz})", "Calls", barmode="stack")
    return time_axis(fig, x, unit)


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
    unit: str | None = None,
    starts: Sequence[int] | None = None,
    colors: Mapping[str, str] | None = None,
) -> Fig:
    """Stacked bars of ``value`` per bucket and ``key`` (the ``top`` largest keys; the rest is
    summed as "other", so the bars add up to the whole of ``rows``). ``unit``: the bucket unit
    (guessed from the buckets when None). ``starts``: the range's bucket starts and its end
    (``View.buckets``), so the axis spans the range even where nothing ran. ``colors``: a
    colour per key (default :func:`key_colors` of the keys in ``rows``). The legend shows
    even for one key: it names what the bars are."""
    if not rows:
        return empty(title)
    totals: dict[str, float] = defaultdict(float)
    for r in rows:
        totals[r[key]] += r[value]
    palette = colors or key_colors(str(k) for k in totals)
    keep = [k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]]
    series: dict[str, dict[Any, float]] = defaultdict(lambda: defaultdict(float))
    buckets = sorted({r["bucket_ms"] for r in rows} | set(starts[:-1] if starts else ()))
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
                marker_color=palette.get(str(name), OTHER_COLOR),
                hovertemplate=f"{name}: {fmt}<extra></extra>",
            )
            for name in [*keep, *(["other"] if "other" in series else [])]
        ]
    )
    extra = {"yaxis_tickprefix": "$"} if money else {}
    fig = _layout(fig, title, f"Time ({tz})", ytitle, barmode="stack", showlegend=True, **extra)
    return time_axis(fig, [local_datetime(b, tz) for b in buckets], unit)


def share_donut(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    colors: Mapping[str, str] | None = None,
) -> Fig:
    """Share of a total; beyond the six largest slices the rest is one "other" slice, and the
    legend sits under the ring so long model names never squeeze it. A slice's colour is its
    label's (``colors``, default :func:`key_colors` of every label, as the stacked charts of
    the same keys), whatever its rank; the percentages are whole numbers, so that each fits
    its slice."""
    if not values or sum(values) <= 0:
        return empty(title, "No cost in this range")
    palette = colors or key_colors(labels)
    pairs = list(zip(labels, values, strict=True))
    if len(pairs) > 7:  # keep the six largest, in the caller's order
        top = {i for i, _ in sorted(enumerate(values), key=lambda p: -p[1])[:6]}
        rest = sum(v for i, v in enumerate(values) if i not in top)
        pairs = [p for i, p in enumerate(pairs) if i in top] + [("other", rest)]
    fig = go.Figure(
        go.Pie(
            labels=[p[0] for p in pairs],
            values=[p[1] for p in pairs],
            hole=0.55,
            sort=False,
            marker={"colors": [palette.get(str(p[0]), OTHER_COLOR) for p in pairs]},
            hovertemplate="%{label}<br>$%{value:,.4f} (%{percent:.1%})<extra></extra>",
            texttemplate="%{percent:.0%}",
            textposition="inside",
            insidetextorientation="horizontal",
        )
    )
    fig = _layout(fig, title, "", "", unified=False)
    fig["layout"]["legend"] = {"orientation": "h", "y": -0.05, "x": 0.5, "xanchor": "center",
                               "yanchor": "top"}  # fmt: skip
    fig["layout"]["uniformtext"] = {"minsize": 10, "mode": "hide"}
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
    return labels_above_bars(fig, list(labels)[::-1])


#: The legend entry of the failed calls' red markers in :func:`session_calls`.
FAILED_LEGEND: dict[str, Any] = {
    "type": "circle", "xref": "paper", "yref": "paper", "x0": 0, "x1": 0, "y0": 0, "y1": 0,
    "fillcolor": "#e45756", "line": {"width": 0}, "showlegend": True, "name": "Failed call",
    "legendrank": 1001,
}  # fmt: skip


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
                # steps: the total stays flat between calls and rises at each call
                line={"color": "#f58518", "shape": "hv"},
                hovertemplate="Total so far: $%{y:,.4f}<extra></extra>",
            ),
        ]
    )
    fig = _layout(fig, title, f"Time ({tz})", "Cost per call (USD)", unified=False)
    fig["layout"]["yaxis"]["tickprefix"] = "$"
    if any(c["failed"] for c in calls):
        # The red markers' legend entry: a shape of no size (not a third trace, so the figure
        # keeps its two traces, one per cost axis).
        fig["layout"]["shapes"] = [FAILED_LEGEND]
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
    narrow_layout(fig, {"title.text": "Cost per call and running total"})  # fits a phone
    lo, hi = min(x), max(x)
    if hi - lo < timedelta(minutes=10):  # one call (or a burst): not a sub-second axis
        mid = lo + (hi - lo) / 2
        fig["layout"]["xaxis"]["range"] = [
            _plotly_time(mid - timedelta(minutes=10)),
            _plotly_time(mid + timedelta(minutes=10)),
        ]
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
    return labels_above_bars(fig, names)


LEVEL_COLORS = {
    "FATAL": "#7f1d1d",
    "ERROR": "#e45756",
    "WARN": "#f58518",
    "INFO": "#4c78a8",
    "DEBUG": "#9d9d9d",
    "TRACE": "#c7c7c7",
    "SILLY": "#dedede",
    "OTHER": "#bab0ac",
}


def log_levels_over_time(
    rows: Sequence[dict[str, Any]], tz: str, unit: str, starts: Sequence[int] = ()
) -> Fig:
    """Gateway log lines per bucket, stacked by level (worst on top of the stack). With
    ``starts`` (bucket starts + end) every bucket of the range is on the axis."""
    title = f"Log lines per {unit} by level"
    if not rows:
        return empty(title, "No matching log lines in this range")
    buckets = sorted({r["bucket_ms"] for r in rows} | set(list(starts)[:-1]))
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for r in rows:
        counts[r["level"]][r["bucket_ms"]] = r["lines"]
    x = [local_datetime(b, tz) for b in buckets]
    order = ["OTHER", "SILLY", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=[counts[level].get(b, 0) for b in buckets],
                name=level,
                marker_color=LEVEL_COLORS[level],
                hovertemplate=f"{level}: %{{y:,}}<extra></extra>",
            )
            for level in order
            if level in counts
        ]
    )
    fig = _layout(fig, title, f"Time ({tz})", "Lines", barmode="stack")
    fig["layout"]["legend"]["traceorder"] = "reversed"
    fig["layout"]["showlegend"] = True  # one level alone still says which it is
    return time_axis(fig, x, unit)


# --- phones ---------------------------------------------------------------------------------
# A chart a phone shows (a viewport under 576 px, Bootstrap's "sm") gets more height for its
# legend, which then holds about one entry a row (style.css reads the heights that
# components.graph sets from chart_heights), and the layout changes of ``layout.meta.narrow``
# (assets/charts.js applies them there and puts back ``layout.meta.wide`` on a wider screen).

#: Height of a horizontal bar's row, px: on a wide screen (label beside the bar) and on a
#: phone (label above the bar).
BAR_ROW_PX, NARROW_BAR_ROW_PX = 24, 44
#: A figure's title, axis and margins, px, around the rows of a horizontal bar chart.
_BARS_FRAME_PX = 130
#: A legend entry's row on a phone, px.
LEGEND_ROW_PX = 21


def legend_entries(fig: Fig) -> int:
    """How many entries the figure's legend shows (0: no legend)."""
    layout = fig.get("layout", {})
    if layout.get("showlegend") is False:
        return 0
    n = sum(len(t.get("labels") or ()) if t.get("type") == "pie" else 1
            for t in fig.get("data", ()) if t.get("showlegend", True))  # fmt: skip
    n += sum(1 for shape in layout.get("shapes", ()) if shape.get("showlegend"))
    if n == 1 and layout.get("showlegend") is not True:
        return 0  # Plotly shows no legend for one trace
    return n


def _bar_rows(fig: Fig) -> int:
    """The categories of a horizontal bar chart (0 for any other chart)."""
    rows = [len(t.get("y") or ()) for t in fig.get("data", ()) if t.get("orientation") == "h"]
    return max(rows, default=0)


def chart_heights(fig: Fig, height: int) -> tuple[int, int]:
    """(wide, phone) height in px of a chart drawn ``height`` px tall on a wide screen: a
    horizontal bar chart grows with its bars, so that every label shows; on a phone the
    legend gets a row per entry, and the bars room for their label above them."""
    legend = legend_entries(fig)
    bars = _bar_rows(fig)
    wide = max(height, _BARS_FRAME_PX + BAR_ROW_PX * bars + (22 if legend else 0))
    # bars: rows of their own height, which keeps each label clear of the bar above it
    phone = _BARS_FRAME_PX + NARROW_BAR_ROW_PX * bars if bars else height
    phone += LEGEND_ROW_PX * legend
    return wide, phone


def narrow_layout(fig: Fig, updates: dict[str, Any]) -> Fig:
    """Record ``updates`` (Plotly relayout paths, e.g. ``"yaxis.showticklabels"``) as the
    figure's phone layout, with the values they replace (None: Plotly's default) to put back
    on a wider screen."""
    meta = fig["layout"].setdefault("meta", {})
    wide = meta.setdefault("wide", {})
    for path in updates:
        node: Any = fig["layout"]
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        wide.setdefault(path, [] if path == "annotations" and node is None else node)
    meta.setdefault("narrow", {}).update(updates)
    return fig


def labels_above_bars(fig: Fig, labels: Sequence[str]) -> Fig:
    """A horizontal bar chart's phone layout: each bar's label above it, over the whole width,
    instead of beside it (long model names would leave the bars a few px)."""
    if not labels:
        return fig
    notes = [
        {"x": 0, "xref": "paper", "y": label, "yref": "y", "text": label, "showarrow": False,
         "xanchor": "left", "yanchor": "bottom", "yshift": 14, "font": {"size": 11}}
        for label in labels
    ]  # fmt: skip
    return narrow_layout(
        fig,
        {"yaxis.showticklabels": False, "annotations": notes, "bargap": 0.6, "margin.l": 12},
    )
