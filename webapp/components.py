"""Reusable pieces of every page: metric cards with their change, graphs, AG Grid tables,
sections, and the empty / error / not-found panels (a clear message, never a traceback)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

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
                        title=hint or "Change against the previous period of equal length",
                    ),
                ]
            ),
            id=card_id,
            className="metric-card h-100",
        ),
        xs=6,
        md=4,
        xl=2,
        className="mb-3",
    )


def graph(graph_id: str, figure: Any, height: int = 340) -> Any:
    return dcc.Graph(
        id=graph_id, figure=figure, config=GRAPH_CONFIG, style={"height": f"{height}px"}
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
    """An AG Grid: sortable, filterable, resizable columns; CSV export when ``csv_name``."""
    options: dict[str, Any] = {"animateRows": False, "enableCellTextSelection": True}
    if selectable:
        options["rowSelection"] = {"mode": "multiRow", "checkboxes": True, "headerCheckbox": True}
    if page_size:
        options.update(pagination=True, paginationPageSize=page_size)
    return dag.AgGrid(
        id=grid_id,
        rowData=list(rows),
        columnDefs=list(columns),
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90},
        dashGridOptions=options,
        columnSize="responsiveSizeToFit",
        csvExportParams={"fileName": csv_name, "allColumns": True} if csv_name else {},
        className="ag-theme-alpine",
        style={"height": f"{height}px", "width": "100%"},
    )


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


def database_error(url: str, detail: str) -> Any:
    """The database is missing, unreachable or has no schema."""
    return message_panel(
        "The telemetry database cannot be read",
        [
            html.P(["Database: ", html.Code(url)]),
            html.P(detail, className="mb-2"),
            html.P("To create it and fill it, run:"),
            commands(
                [
                    "agentbox-telemetry db upgrade",
                    "agentbox-telemetry ingest --source ~/.openclaw",
                    "# or try the dashboard on generated data:",
                    "agentbox-telemetry demo --out DIR",
                ]
            ),
            html.P(
                "Point the dashboard elsewhere with --db-url or TELEMETRY_DB_URL.",
                className="mb-0 small",
            ),
        ],
        tone="danger",
        panel_id="db-error",
    )


def empty_database(url: str) -> Any:
    """The schema exists but nothing was ingested yet."""
    return message_panel(
        "No usage recorded yet",
        [
            html.P(["The database ", html.Code(url), " has no sessions or calls."]),
            html.P("The ingestor reads OpenClaw's state and logs from, by default:"),
            html.Ul(
                [
                    html.Li([html.Code("~/.openclaw"), " (and legacy ~/.clawdbot, ~/.moltbot)"]),
                    html.Li([html.Code("OPENCLAW_STATE_DIR"), " when set"]),
                    html.Li([html.Code("/tmp/openclaw"), " (or OPENCLAW_LOG_DIR) for logs"]),
                ]
            ),
            html.P("Read them once, keep watching, or point it elsewhere:"),
            commands(
                [
                    "agentbox-telemetry ingest",
                    "agentbox-telemetry ingest --watch",
                    "agentbox-telemetry ingest --source /path/to/openclaw-state",
                    "# load the demo data set instead:",
                    "agentbox-telemetry demo --out DIR",
                ]
            ),
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


def col(field: str, header: str, kind: str = "text", **extra: Any) -> dict[str, Any]:
    """An AG Grid column: numbers are right-aligned, formatted, and filter as numbers."""
    c: dict[str, Any] = {"field": field, "headerName": header}
    if kind in _FORMATTERS:
        c.update(
            type="rightAligned",
            filter="agNumberColumnFilter",
            valueFormatter={"function": _FORMATTERS[kind]},
        )
    elif kind == "link":
        c.update(cellRenderer="markdown")
    c.update(extra)
    return c


def session_link(session_id: str, text: str, search: str = "") -> str:
    """A markdown link to a session page (AG Grid cells)."""
    safe = text.replace("[", "(").replace("]", ")")
    return f"[{safe}](/session/{quote(session_id, safe='')}{search})"


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
