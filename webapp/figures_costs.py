"""Figures of the Costs page (share of cost by source, cache savings) and the list-price mark
of the cost charts. Pure: rows -> Plotly figure dicts, built on ``webapp.figures``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webapp import figures as F

SOURCE_COLORS = {
    "override": "#b279a2",
    "logged": "#4c78a8",
    "priced": "#54a24b",
    "unknown": "#bab0ac",
}
SOURCE_LABELS = {
    "override": "Override",
    "logged": "Logged",
    "priced": "Priced (list)",
    "unknown": "Unknown",
}


def source_share(rows: Sequence[dict[str, Any]], list_price: bool = False) -> F.Fig:
    """Donut of the cost (or the list price) per cost source, sources in a fixed colour."""
    key = "list_price" if list_price else "cost"
    title = "List price by cost source" if list_price else "Share of cost by source"
    shown = [r for r in rows if r[key] > 0]
    fig = F.share_donut(
        [SOURCE_LABELS.get(r["source"], r["source"]) for r in shown],
        [r[key] for r in shown],
        title,
    )
    if fig["data"]:
        fig["data"][0]["marker"]["colors"] = [
            SOURCE_COLORS.get(r["source"], "#9d755d") for r in shown
        ]
    return fig


def savings_by_model(rows: Sequence[dict[str, Any]]) -> F.Fig:
    fig = F.hbar(
        [f"{r['provider']}/{r['model']}" for r in rows],
        [r["savings"] for r in rows],
        "Cache savings by model",
        "Savings (USD)",
        hover="%{y}: $%{x:,.4f}",
        color="#54a24b",
    )
    if fig["data"]:
        fig["layout"]["xaxis"]["tickprefix"] = "$"
    return fig


def savings_over_time(rows: Sequence[dict[str, Any]], tz: str, unit: str) -> F.Fig:
    return F.stacked_by_key(
        rows, tz, "name", "savings", f"Cache savings per {unit} by model", "Savings (USD)",
        unit=unit,
    )  # fmt: skip


def mark_list_price(fig: F.Fig) -> F.Fig:
    """Say on a cost chart that it shows the list price (the global "Cost" control)."""
    layout = fig.get("layout", {})
    title = layout.get("title")
    if isinstance(title, dict) and title.get("text"):
        title["text"] = f"{title['text']} — list price"
    ytitle = layout.get("yaxis", {}).get("title")
    if isinstance(ytitle, dict) and str(ytitle.get("text", "")).startswith("Cost"):
        ytitle["text"] = "List price (USD)"
    return fig
