"""Human-readable tables for ``report`` (the JSON form is the stable interface)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return "-"
    if key.endswith("_usd"):
        return f"${v:,.4f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return str(v)


def render_report(kind: str, data: dict[str, Any]) -> None:
    console = Console()
    if kind == "summary":
        t = Table(
            title=f"summary  [{data['since'] or 'start'}, {data['until'] or 'now'}) {data['tz']}",
            show_header=False,
        )
        for k, v in data.items():
            if k not in ("since", "until", "tz"):
                t.add_row(k.replace("_", " "), _fmt(k, v))
        console.print(t)
        return
    rows = data["rows"]
    if not rows:
        console.print(f"{kind}: no data in this range")
        return
    t = Table(title=kind)
    cols = list(rows[0].keys())
    for c in cols:
        t.add_column(
            c.replace("_", " "),
            justify="right"
            if c
            not in (
                "provider",
                "model",
                "tool",
                "session_id",
                "agent_id",
                "kind",
                "key",
                "parent_session_id",
                "started_at",
                "ended_at",
                "date",
            )
            else "left",
        )
    for r in rows:
        t.add_row(*[_fmt(c, r[c]) for c in cols])
    console.print(t)
