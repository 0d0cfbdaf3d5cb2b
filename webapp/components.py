"""Reusable pieces of every page: metric cards with their change, graphs, AG Grid tables,
sections, and the empty / error / not-found panels (a clear message, never a traceback)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from itertools import repeat
from typing import Any
from urllib.parse import quote

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from webapp import figures as F
from webapp.pricehints import cli_command

GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d"],
}


def metric_card(
    card_id: str,
    title: str,
    value: str,
    delta: tuple[str, int] = ("", 0),
    *,
    up_is_good: bool | None = None,
    hint: str | None = None,
) -> Any:
    """A card: title, big value, change against the previous period (green when the change
    is good, red when bad, grey when neutral)."""
    text, direction = delta
    tone = "text-secondary"
    if direction and up_is_good is not None:
        tone = "text-success" if (direction > 0) == up_is_good else "text-danger"
    arrow = {1: "▲ ", -1: "▼ "}.get(direction, "")
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(title, className="metric-title"),
                    html.Div(value, id=f"{card_id}-value", className="metric-value"),
                    html.Div(
                        (arrow + text + " vs previous") if text else "\u00a0",
                        id=f"{card_id}-delta",
                        className=f"metric-delta {tone}",
                        title=hint
                        or (
                            "Change against the previous period of equal length"
                            if text
                            else "No change shown: nothing to compare with"
                        ),
                    ),
                ]
            ),
            id=card_id,
            className="metric-card h-100",
        ),
        xs=6,
        md=4,
        xl=2,
        className="mb-3 metric-col",
    )


def graph(graph_id: str, figure: Any, height: int = 340) -> Any:
    """A chart ``height`` px tall on a wide screen (a horizontal bar chart: more when its bars
    need it); a phone gets the taller height of :func:`figures.chart_heights` (style.css)."""
    wide, phone = F.chart_heights(figure, height) if isinstance(figure, dict) else (height,) * 2
    return dcc.Graph(
        id=graph_id,
        figure=figure,
        config=GRAPH_CONFIG,
        className="chart",
        style={"--chart-height": f"{wide}px", "--chart-phone-height": f"{phone}px"},
    )


def section(title: str, *children: Any, subtitle: str | None = None) -> Any:
    head: list[Any] = [html.H5(title, className="section-title")]
    if subtitle:
        head.append(html.Div(subtitle, className="section-subtitle text-secondary"))
    return dbc.Card(dbc.CardBody([*head, *children]), className="mb-3 section-card")


def grid(
    grid_id: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[dict[str, Any]],
    *,
    height: int = 420,
    csv_name: str | None = None,
    page_size: int | None = None,
    selectable: bool = False,
) -> Any:
    """An AG Grid: sortable, filterable, resizable columns.

    Every column is at least as wide as its header (wrapped on at most two lines, the full
    header also a tooltip) and its widest value (text up to ``TEXT_MAX_PX``, with the full
    text as a tooltip beyond), and the columns share the rest of the width; when they need more
    than the grid has, it scrolls sideways instead of cutting them (:func:`fit_columns`). A
    grid of at most ``AUTO_HEIGHT_ROWS`` rows (on a page) is exactly as tall as its rows; a
    longer one is ``height`` px tall and scrolls.

    With ``csv_name`` the grid can be exported (``exportDataAsCsv``) with raw values: numbers
    unformatted at full precision, texts as they are (timestamps ISO 8601). Link columns
    (markdown) are left out: a page gives their text and target as plain columns, usually
    hidden (:func:`csv_columns`)."""
    rows = list(rows)
    cols = fit_columns(columns, rows)
    options: dict[str, Any] = {
        "animateRows": False,
        "enableCellTextSelection": True,
        # tooltips as the browser's own (a title attribute): immediate, and read by screen
        # readers and tests
        "enableBrowserTooltips": True,
    }
    if selectable:
        options["rowSelection"] = {"mode": "multiRow", "checkboxes": True, "headerCheckbox": True}
    if page_size:
        options.update(pagination=True, paginationPageSize=page_size)
    style: dict[str, Any] = {"width": "100%"}
    shown = min(len(rows), page_size) if page_size else len(rows)
    if shown <= AUTO_HEIGHT_ROWS:
        options["domLayout"] = "autoHeight"
    else:
        style["height"] = f"{height}px"
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=cols,
        defaultColDef={
            "sortable": True,
            "filter": True,
            "resizable": True,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
            # AG Grid >= 31 exports what the value formatter shows ("$0.0066", "533,402");
            # the CSV carries the values themselves
            "useValueFormatterForExport": False,
        },
        dashGridOptions=options,
        csvExportParams={"fileName": csv_name, "columnKeys": csv_columns(cols)} if csv_name else {},
        className="ag-theme-alpine",
        style=style,
    )


def search_box(input_id: str, label: str) -> list[Any]:
    """A labelled text search of a page (kept for the browser session, applied half a second
    after the typing stops)."""
    return [
        html.Label(label, className="control-label"),
        dcc.Input(
            id=input_id,
            type="search",
            placeholder="text (case-insensitive)",
            debounce=0.5,
            className="form-control",
            persistence=True,
            persistence_type="session",
        ),
    ]


def commands(lines: Sequence[str]) -> Any:
    return html.Pre("\n".join(lines), className="command-block")


def message_panel(
    title: str, body: Sequence[Any], tone: str = "warning", panel_id: str = ""
) -> Any:
    return dbc.Alert(
        [html.H4(title, className="alert-heading"), *body],
        color=tone,
        id=panel_id or "message-panel",
        className="message-panel",
    )


def _db_flag(url: str) -> str:
    """``--db URL`` for the commands shown, so they fill the database this dashboard reads
    (quoted for a shell; a hidden password stays hidden)."""
    return f"--db '{url}'" if any(c in url for c in " *?&") else f"--db {url}"


def _fill_commands(url: str) -> list[str]:
    flag = _db_flag(url)
    cli = cli_command()  # the bare name only when the user's PATH finds it
    return [
        f"{cli} ingest {flag} --source ~/.openclaw",
        f"{cli} ingest {flag} --watch          # and keep following it",
        "# or try the dashboard on generated data:",
        f"{cli} demo --out ./openclaw-demo",
        f"{cli} ingest {flag} --source ./openclaw-demo --source ./openclaw-demo/logs",
    ]


def database_error(url: str, detail: str) -> Any:
    """The database is missing, unreachable or has no schema."""
    return message_panel(
        "The telemetry database cannot be read",
        [
            html.P(["Database: ", html.Code(url)]),
            html.P(detail, className="mb-2"),
            html.P("To create it and fill it (ingest creates the schema), run:"),
            commands(_fill_commands(url)),
            html.P(
                "Point the dashboard elsewhere with --db or TELEMETRY_DB_URL.",
                className="mb-0 small",
            ),
        ],
        tone="danger",
        panel_id="db-error",
    )


def empty_database(url: str, files_seen: bool = False) -> Any:
    """The schema exists but nothing was ingested yet (``files_seen``: the ingestor found
    files, none with usage: the Ingest page says why)."""
    seen = (
        [
            html.P(
                [
                    "The ingestor found files but none held a session: the ",
                    dcc.Link("Ingest page", href="/ingest", id="db-empty-ingest-link"),
                    " lists them and why each was skipped.",
                ]
            )
        ]
        if files_seen
        else []
    )
    return message_panel(
        "No usage recorded yet",
        [
            html.P(["The database ", html.Code(url), " has no sessions or calls."]),
            *seen,
            html.P("The ingestor reads OpenClaw's state and logs from, by default:"),
            html.Ul(
                [
                    html.Li([html.Code("~/.openclaw"), " (and legacy ~/.clawdbot, ~/.moltbot)"]),
                    html.Li([html.Code("OPENCLAW_STATE_DIR"), " when set"]),
                    html.Li([html.Code("/tmp/openclaw"), " (or OPENCLAW_LOG_DIR) for logs"]),
                ]
            ),
            html.P("Read them into this database (or name another state dir):"),
            commands(_fill_commands(url)),
        ],
        tone="info",
        panel_id="db-empty",
    )


def timeout_panel(limit_ms: int) -> Any:
    return message_panel(
        "This question took too long",
        [
            html.P(
                f"A query ran longer than the {limit_ms / 1000:g} s limit and was stopped. "
                "Choose a shorter range or fewer filters, or raise --query-timeout."
            )
        ],
        panel_id="db-timeout",
    )


def not_found(what: str) -> Any:
    return message_panel("Not found", [html.P(what)], tone="secondary", panel_id="not-found")


def no_data(text: str = "Nothing in this range with these filters.") -> Any:
    return html.Div(text, className="text-secondary no-data py-3")


_FORMATTERS = {
    "money": "params.value == null ? '' : d3.format(Math.abs(params.value) >= 0.01 || "
    "params.value == 0 ? '$,.2f' : '$,.4f')(params.value)",
    "money2": "params.value == null ? '' : d3.format('$,.2f')(params.value)",
    "int": "params.value == null ? '' : d3.format(',')(params.value)",
    "pct": "params.value == null ? '' : d3.format('.1%')(params.value)",
    "ms": "params.value == null ? '' : d3.format(',.0f')(params.value) + ' ms'",
}
# An ISO 8601 local time with its offset ("2026-11-28T07:21:51+01:00", what a CSV gets) shown
# and filtered as "2026-11-28 07:21".
_MINUTES = "params.value ? params.value.slice(0, 16).replace('T', ' ') : ''"
_MINUTES_OF_DATA = "params.data.{field} ? params.data.{field}.slice(0, 16).replace('T', ' ') : ''"


def col(field: str, header: str, kind: str = "text", **extra: Any) -> dict[str, Any]:
    """An AG Grid column: numbers are right-aligned, formatted, and filter as numbers;
    ``datetime`` holds an ISO 8601 local time (:func:`iso_time`) shown to the minute;
    ``link`` is a markdown link (:func:`session_link`)."""
    c: dict[str, Any] = {"field": field, "headerName": header}
    if kind in _FORMATTERS:
        c.update(
            type="rightAligned",
            filter="agNumberColumnFilter",
            valueFormatter={"function": _FORMATTERS[kind]},
        )
    elif kind == "datetime":
        c.update(
            valueFormatter={"function": _MINUTES},
            filterValueGetter={"function": _MINUTES_OF_DATA.format(field=field)},
        )
    elif kind == "link":
        c.update(cellRenderer="markdown")
    c.update(extra)
    return c


def iso_time(when: datetime) -> str:
    """A ``datetime`` column's value: ISO 8601 to the second, with the zone's offset."""
    return when.isoformat(timespec="seconds")


def session_link(session_id: str, text: str, search: str = "") -> str:
    """A markdown link to a session page (AG Grid cells)."""
    safe = text.replace("[", "(").replace("]", ")")
    return f"[{safe}](/session/{quote(session_id, safe='')}{search})"


# Column widths: estimated from the text each column shows, in the grid's 14 px font, with the
# advance widths Chromium gives its sans-serif (Arial's metrics: digits 7.79 px), and 5% to
# spare for other system fonts. The padding is style.css's (10 px a side).
AUTO_HEIGHT_ROWS = 15
TEXT_MAX_PX = 360  # a longer text is cut (with a tooltip), not a wider column
_CELL_CHROME_PX = 24  # the cell's padding and border, and 3 px to spare
# the header's padding and its filter button (16 px), 6 px to spare; the sort arrow of a sorted
# column goes under its header's text when they do not fit side by side (style.css)
_HEADER_CHROME_PX = 42
_CHAR_PX = {
    ch: px
    for chars, px in (
        ("'|", 3.0),
        ("ijl", 3.11),
        ("ftI/:.,;[]! ", 3.89),
        ("r-()*", 4.66),
        ("cksvxyzJ≠", 7.0),
        ("FTZ>+=<", 8.55),
        ("ABEKPSVXY&", 9.34),
        ("└", 9.92),
        ("CDHNRUw", 10.11),
        ("GOQ", 10.89),
        ("mM", 11.66),
        ("%", 12.45),
        ("W", 13.21),
        ("—@\u2003", 14.0),
    )
    for ch in chars
}
_MARKDOWN_LINK = re.compile(r"^\[(.*)\]\([^)]*\)$", re.S)


def text_px(text: str) -> float:
    """About how wide ``text`` is in the grid's font, in px (7.79 for any other character)."""
    return sum(map(_CHAR_PX.get, text, repeat(7.79))) * 1.05


def header_px(header: str) -> float:
    """The width a header needs on at most two lines (wrapped between words)."""
    words = header.split()
    if len(words) < 2:
        return text_px(header)
    return min(
        max(text_px(" ".join(words[:i])), text_px(" ".join(words[i:])))
        for i in range(1, len(words))
    )


def shown_text(column: dict[str, Any], value: Any) -> str:
    """What a cell shows for ``value`` (the Python twin of the column's formatter)."""
    if value is None or value == "":
        return ""
    fn = (column.get("valueFormatter") or {}).get("function")
    if isinstance(value, bool) or not isinstance(value, int | float) or fn is None:
        if fn == _MINUTES:
            return str(value)[:16].replace("T", " ")
        m = _MARKDOWN_LINK.match(str(value)) if column.get("cellRenderer") == "markdown" else None
        return m.group(1) if m else str(value)
    if fn == _FORMATTERS["money"]:
        return f"${value:,.2f}" if abs(value) >= 0.01 or value == 0 else f"${value:,.4f}"
    if fn == _FORMATTERS["money2"]:
        return f"${value:,.2f}"
    if fn == _FORMATTERS["pct"]:
        return f"{value * 100:.1f}%"
    if fn == _FORMATTERS["ms"]:
        return f"{value:,.0f} ms"
    return f"{value:,}"


def _widest_px(column: dict[str, Any], rows: Sequence[dict[str, Any]]) -> float:
    """The widest of a column's shown values: each distinct value once, longest text first,
    stopping when no shorter text can be wider (a character is at most 14 px)."""
    field = str(column.get("field"))
    values = dict.fromkeys(r.get(field) for r in rows)
    texts = sorted({shown_text(column, v) for v in values}, key=len, reverse=True)
    widest = 0.0
    for t in texts:
        if len(t) * 14.0 * 1.05 <= widest:
            break
        widest = max(widest, text_px(t))
    return widest


def fit_columns(
    columns: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each shown column with ``minWidth``, ``width`` and ``flex``: its header on at most two
    lines and its widest value must fit (a text at most ``TEXT_MAX_PX`` wide, or the page's
    ``width`` for the column; longer ones are cut and get a tooltip); the page's ``minWidth``
    and ``maxWidth`` still bound it. ``flex`` in proportion shares the rest of the grid's
    width (a pinned column keeps its width); when the columns need more than the grid has, it
    scrolls sideways. Every header is its own tooltip."""
    out = []
    for c in columns:
        c = dict(c)
        header = str(c.get("headerName", c.get("field", "")))
        c.setdefault("headerTooltip", header)
        if c.get("hide"):
            out.append(c)
            continue
        widest = _widest_px(c, rows)
        is_text = "valueFormatter" not in c or c.get("cellRenderer") == "markdown"
        cap = float(c.get("width") or TEXT_MAX_PX) - _CELL_CHROME_PX
        if is_text and widest > cap:
            widest = cap
            if c.get("cellRenderer") != "markdown":
                c.setdefault("tooltipField", c.get("field"))
        need = max(widest + _CELL_CHROME_PX, header_px(header) + _HEADER_CHROME_PX)
        need = max(math.ceil(need), int(c.get("minWidth") or 0))
        if c.get("maxWidth"):
            need = min(need, int(c["maxWidth"]))
        c["minWidth"] = need
        c["width"] = need
        if not c.get("pinned"):
            c.setdefault("flex", need)
        out.append(c)
    return out


def csv_columns(columns: Sequence[dict[str, Any]]) -> list[str]:
    """The columns a CSV export holds, in order: every column (hidden ones too) but links."""
    return [c["field"] for c in columns if c.get("field") and c.get("cellRenderer") != "markdown"]


def range_hint(
    range_label: str, first_day: str, last_day: str, href_all: str, hint_id: str = "range-hint"
) -> Any:
    """The selected range holds nothing, but the database has data elsewhere: say where, and
    offer "All time" (``href_all`` is a query string: the link keeps the current page)."""
    return dbc.Alert(
        [
            html.Span(f"Nothing was recorded in this range ({range_label}). "),
            html.Span(
                ["The database has data from ", html.B(first_day), " to ", html.B(last_day), ". "],
                id=f"{hint_id}-extent",
            ),
            dcc.Link("Show all time", href=href_all, id=f"{hint_id}-all", className="alert-link"),
        ],
        color="info",
        id=hint_id,
        className="range-hint py-2",
    )
