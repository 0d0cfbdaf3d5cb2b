"""Logs: the OpenClaw gateway's log lines (``gateway_events``) in the range: lines per bucket
stacked by level, filters by level (default WARN and above), subsystem and message text, and
the most recent matching lines with a link to their session when the ingestor has it (named
as on the Sessions page, its id as the link's tooltip).

The global range and time zone apply; the agent filter applies to a line's agent (the one it
names, else its session's; lines with neither are always shown); kind, provider and model
filters do not apply to logs.
The page's own filters live in the page (kept for the browser session), not in the URL.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import figures as F
from webapp import format as fmt
from webapp.pagekit import View, guarded, range_hint
from webapp.pricehints import cli_command
from webapp.queries import logs as LQ
from webapp.queries.sessions import session_names
from webapp.timeranges import auto_bucket, bucket_starts, local_datetime

COLUMNS = [
    C.col("time", "Time", minWidth=170, maxWidth=190),
    C.col(
        "level",
        "Level",
        maxWidth=100,
        cellStyle={
            "styleConditions": [
                {
                    "condition": "['ERROR', 'FATAL'].includes(params.value)",
                    "style": {"color": "#c92a2a", "fontWeight": 600},
                },
                {
                    "condition": "params.value == 'WARN'",
                    "style": {"color": "#b35c00", "fontWeight": 600},
                },
            ]
        },
    ),
    C.col("subsystem", "Subsystem", minWidth=130, maxWidth=220),
    C.col("message", "Message", minWidth=360, flex=3, tooltipField="message"),
    C.col("agent", "Agent", maxWidth=130),
    # named as on the Sessions page (label, else title, else key, else id), the id as its
    # tooltip; the id and name as plain columns too, for a CSV export (C.grid leaves links out)
    C.col("session", "Session", "link", minWidth=130, maxWidth=220, tooltipField="session_id"),
    C.col("session_id", "Session id", hide=True),
    C.col("session_name", "Session name", hide=True),
]
_NO_LOGS_HELP = [
    html.P(
        [
            "Gateway logs come from OpenClaw's log directory: ",
            html.Code("/tmp/openclaw"),
            " by default (",
            html.Code("openclaw-YYYY-MM-DD.log"),
            "), or the directory given with ",
            html.Code("--source"),
            " or ",
            html.Code("OPENCLAW_LOG_DIR"),
            ".",
        ]
    ),
    html.P(
        [
            "OpenClaw deletes log files older than 24 hours, so lines are kept only if the "
            "ingestor runs continuously: ",
            html.Code(f"{cli_command()} ingest --watch"),
            ".",
        ],
        className="mb-0",
    ),
]


def layout(search: str = "", **_: Any) -> Any:
    return html.Div(
        [
            html.H3("Logs", className="page-title"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Label("Level", className="control-label"),
                            dcc.Dropdown(
                                id="logs-level",
                                options=list(LQ.LEVELS),
                                value=list(LQ.DEFAULT_LEVELS),
                                multi=True,
                                placeholder="All levels",
                                persistence=True,
                                persistence_type="session",
                            ),
                        ],
                        xs=12,
                        md=4,
                    ),
                    dbc.Col(
                        [
                            html.Label("Subsystem", className="control-label"),
                            dcc.Dropdown(
                                id="logs-subsystem",
                                options=[],
                                value=[],
                                multi=True,
                                placeholder="All subsystems",
                                persistence=True,
                                persistence_type="session",
                            ),
                        ],
                        xs=12,
                        md=4,
                    ),
                    dbc.Col(
                        C.search_box("logs-q", "Message contains"),
                        xs=12,
                        md=4,
                    ),
                ],
                className="g-2 mb-3 logs-controls",
            ),
            dcc.Loading(html.Div(id="logs-body"), delay_show=400),
        ]
    )


def _buckets(view: View, extent: tuple[int, int] | None) -> tuple[str, list[int]]:
    """The range's local buckets; for all time, the logs' own extent."""
    if view.range.since_ms is not None and view.range.until_ms is not None:
        span: tuple[int, int] | None = (view.range.since_ms, view.range.until_ms)
    else:
        span = extent
    if span is None:
        return "day", []
    unit = auto_bucket(span[1] - span[0])
    if unit == "hour" and span[1] - span[0] > 400 * 86_400_000:
        unit = "day"
    return unit, bucket_starts(span[0], span[1], unit, view.tz)


def _row(r: dict[str, Any], view: View, names: dict[str, str]) -> dict[str, Any]:
    """A grid row; ``names``: the known sessions' names (:func:`session_names`). A session
    the database does not hold is its id, as plain text (no page to link to)."""
    sid = r["session_id"] or ""
    name = names.get(sid, sid) if r["session_known"] else sid
    if sid and r["session_known"]:
        session = C.session_link(sid, name, view.search)
    else:
        session = sid.replace("[", "(").replace("]", ")")
    return {
        "session_id": sid,
        "session_name": name,
        "time": local_datetime(r["time_ms"], view.tz).strftime("%Y-%m-%d %H:%M:%S"),
        "level": LQ.level_name(r["level_id"]) if r["level_id"] is not None else r["level"] or "",
        "subsystem": r["subsystem"] or "",
        "message": r["message"],
        "agent": r["agent_id"] or "",
        "session": session,
    }


def _subsystem_options(
    found: list[tuple[str, int]], chosen: tuple[str, ...]
) -> list[dict[str, str]]:
    opts = [{"label": f"{name} ({n:,})", "value": name} for name, n in found]
    present = {name for name, _ in found}
    opts += [{"label": f"{name} (0)", "value": name} for name in chosen if name not in present]
    return opts


def _summary(series: list[dict[str, Any]], shown: int) -> str:
    per_level: dict[str, int] = {}
    for r in series:
        per_level[r["level"]] = per_level.get(r["level"], 0) + r["lines"]
    total = sum(per_level.values())
    text = f"{fmt.integer(total)} matching line{'' if total == 1 else 's'}"
    order = [lv for lv in (*reversed(LQ.LEVELS), LQ.OTHER_LEVEL) if per_level.get(lv)]
    if len(order) > 1:
        text += " (" + " · ".join(f"{lv} {fmt.integer(per_level[lv])}" for lv in order) + ")"
    if total > shown:
        text += f" · the table shows the {fmt.integer(shown)} most recent"
    return text


def body(conn: Any, view: View, q: LQ.LogQuery) -> tuple[Any, Any]:
    """(page body, subsystem options)."""
    ctx = view.ctx
    if not ctx.cached("has-gateway-events", 30, lambda: LQ.has_gateway_events(conn)):
        ctx.clear_cache()
        panel = C.message_panel(
            "This database has no gateway log table yet",
            [
                html.P(
                    "It was created by an older version of the ingestor. Upgrade its schema "
                    "(the other pages keep working meanwhile), then ingest again:"
                ),
                C.commands([f"{cli_command()} db upgrade", f"{cli_command()} ingest"]),
            ],
            tone="warning",
            panel_id="logs-upgrade",
        )
        return panel, []
    extent = LQ.logs_extent(conn)  # two index probes; cached, it lagged the table
    unit, starts = _buckets(view, extent)
    series = LQ.log_series(conn, view.filters, q, starts)
    recent = LQ.recent_logs(conn, view.filters, q, LQ.RECENT_LIMIT)
    options = _subsystem_options(LQ.log_subsystems(conn, view.filters, q), q.subsystems)
    names = session_names(conn, (r["session_id"] for r in recent if r["session_known"]))
    summary = _summary(series, len(recent))
    agent_note = (
        " · the agent filter applies to lines that name an agent" if view.state.agents else ""
    )
    if recent:
        table: Any = C.section(
            "Most recent lines",
            C.grid(
                "logs-grid",
                [_row(r, view, names) for r in recent],
                COLUMNS,
                height=min(110 + 42 * len(recent), 600),
            ),
            subtitle=f"Newest first, times in {view.tz}{agent_note}",
        )
    else:
        hint = None
        if extent is not None and not LQ.has_lines(conn, view.filters):
            hint = range_hint(conn, view, extent, hint_id="logs-range-hint")
        title = (
            "No gateway log lines recorded yet"
            if extent is None
            else "No log lines match these filters in this range"
        )
        table = html.Div(
            [
                *([hint] if hint is not None else []),
                C.message_panel(title, _NO_LOGS_HELP, tone="secondary", panel_id="logs-empty"),
            ]
        )
    return (
        html.Div(
            [
                html.Div(summary, id="logs-count", className="range-caption"),
                C.section(
                    "",
                    C.graph(
                        "logs-levels", F.log_levels_over_time(series, view.tz, unit, starts), 300
                    ),
                ),
                table,
            ]
        ),
        options,
    )


@callback(
    Output("logs-body", "children"),
    Output("logs-subsystem", "options"),
    Input("state", "data"),
    Input("logs-level", "value"),
    Input("logs-subsystem", "value"),
    Input("logs-q", "value"),
    Input("tick", "n_intervals"),
)
def render(state, levels, subsystems, text, _tick=None):
    if state is None:
        raise PreventUpdate
    q = LQ.LogQuery(
        levels=tuple(levels or ()),
        subsystems=tuple(subsystems or ()),
        text=(text or "").strip(),
    )
    out = guarded(state, lambda conn, view: body(conn, view, q))
    if isinstance(out, tuple):
        return out
    return out, no_update  # a database panel
