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


def render_report(kind: str, data: dict[str, Any], console: Console | None = None) -> None:
    """Print a report's table on ``console`` (standard output by default)."""
    console = console or Console()
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
    _print_whole(console, t, kind, cols, rows)


def _print_whole(
    console: Console, t: Table, kind: str, cols: list[str], rows: list[dict[str, Any]]
) -> None:
    """Print ``t`` without cutting a cell: as is when it fits; else into a pipe or file at
    its full width, and on a narrow terminal as one block of ``column: value`` lines per
    row (as ``psql``'s expanded display)."""
    width = console.measure(t, options=console.options.update(max_width=100_000)).maximum
    if width <= console.width:
        console.print(t)
    elif not console.is_terminal:
        Console(file=console.file, width=width, color_system=None).print(t)
    else:
        label = max(len(c) for c in cols)
        for i, r in enumerate(rows, 1):
            console.print(f"-- {kind} {i} --", style="bold", highlight=False)
            for c in cols:
                line = f"{c.replace('_', ' '):<{label}}  {_fmt(c, r[c])}"
                console.print(line, markup=False, highlight=False)
