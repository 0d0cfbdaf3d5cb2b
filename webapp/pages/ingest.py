"""Ingest: the health of what the ingestor reads, and what the "N errors, M warnings" at the end
of ``agentbox-telemetry ingest`` were. Cards: the files tracked by state and by kind (with how
many of them the "N files" of ``ingest``'s closing line counts: not the ``sessions.json``
indexes, nor gone or replaced files), lines read, errors and warnings recorded in the range,
and the ingestor's last activity; the skipped files by
reason with example paths; the errors and warnings by problem, the most recent 500 (time,
severity, file, offset, reason, excerpt; CSV download of the raw values) and the files with
the most.

Errors and warnings belong to the range by when the ingestor recorded them
(``ingest_errors.created_ms``), not by the time inside the line; the files, lines read and
skipped files are all time (the page says so). The time zone applies to every time shown. The
agent filter applies to files with an agent (``sources.agent_id``) and their errors; files with
no agent are always shown. The kind, provider and model filters do not apply to this page.
The page's own filters (severity, text) live in the page (kept for the browser session), not
in the URL, and apply to the errors below them. A range holding more than ``IQ.WINDOW``
(100,000) errors is narrowed to its most recent ones for the tables (the count line says so;
the cards still count the whole range), so that no question reads more rows than that.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import format as fmt
from webapp import queries as Q
from webapp.pagekit import View, guarded, range_hint
from webapp.queries import ingest as IQ

SEVERITY_OPTIONS = [
    {"label": "Errors and warnings", "value": "both"},
    {"label": "Errors only", "value": "error"},
    {"label": "Warnings only", "value": "warning"},
]
_ERROR_RED = "#c92a2a"
_WARNING_ORANGE = "#b35c00"
_SEVERITY_STYLE = {
    "styleConditions": [
        {
            "condition": "params.value == 'error'",
            "style": {"color": _ERROR_RED, "fontWeight": 600},
        },
        {
            "condition": "params.value == 'warning'",
            "style": {"color": _WARNING_ORANGE, "fontWeight": 600},
        },
    ]
}
# An ISO 8601 local time with its offset (what a CSV gets) shown to the second.
_SECONDS = "params.value ? params.value.slice(0, 19).replace('T', ' ') : ''"
_SECONDS_OF_TIME = "params.data.time ? params.data.time.slice(0, 19).replace('T', ' ') : ''"
_OFFSET_HINT = "Byte offset of the line in its file (for a SQLite store: the event's seq)"

PROBLEM_COLUMNS = [
    C.col("problem", "Problem", width=280, flex=520, tooltipField="problem"),
    C.col("severity", "Severity", cellStyle=_SEVERITY_STYLE),
    C.col("lines", "Lines", "int"),
    C.col("files", "Files", "int"),
    C.col("last", "Last recorded", "datetime"),
    C.col("example", "Example, as recorded", minWidth=220, tooltipField="example"),
]
RECENT_COLUMNS = [
    C.col(
        "time",
        "Recorded",
        valueFormatter={"function": _SECONDS},
        filterValueGetter={"function": _SECONDS_OF_TIME},
        maxWidth=175,
    ),
    C.col("severity", "Severity", cellStyle=_SEVERITY_STYLE),
    C.col("file", "File", width=340, tooltipField="path"),
    C.col("line_offset", "Offset", "int", headerTooltip=_OFFSET_HINT),
    C.col("reason", "Reason", minWidth=200, tooltipField="reason"),
    C.col("excerpt", "Excerpt", minWidth=200, tooltipField="excerpt"),
    # what a CSV export holds besides the shown columns: the full path and the file's id
    C.col("path", "Path", hide=True),
    C.col("source_id", "Source id", hide=True),
]
CSV_NAME = "ingest-errors.csv"
CSV_COLUMNS = ("time", "severity", "path", "line_offset", "reason", "excerpt", "source_id")
FILE_COLUMNS = [
    C.col("file", "File", width=340, tooltipField="path"),
    C.col("folder", "Folder", width=340, tooltipField="path"),
    C.col("kind", "Kind"),
    C.col("state", "State"),
    C.col("errors", "Errors", "int"),
    C.col("warnings", "Warnings", "int"),
    C.col("lines", "Lines read", "int", headerTooltip="Lines read from the file, all passes"),
]
_NAME_SKIPS = (
    "Files skipped by their name (backups, checkpoints, trajectories, ACP streams, lock and "
    'temp files) count in the "N skipped" that agentbox-telemetry ingest prints, but they are '
    "never tracked, so they are not listed here."
)


def layout(search: str = "", **_: Any) -> Any:
    return html.Div(
        [
            html.H3("Ingest", className="page-title"),
            dcc.Loading(html.Div(id="ingest-summary"), delay_show=400),
            html.Div(
                [
                    html.H5("Errors and warnings", className="section-title mb-2"),
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    html.Label("Severity", className="control-label"),
                                    dcc.Dropdown(
                                        id="ingest-severity",
                                        options=SEVERITY_OPTIONS,
                                        value="both",
                                        clearable=False,
                                        searchable=False,
                                        persistence=True,
                                        persistence_type="session",
                                    ),
                                ],
                                xs=12,
                                md=4,
                            ),
                            dbc.Col(
                                C.search_box("ingest-q", "Reason or path contains"),
                                xs=12,
                                md=8,
                            ),
                        ],
                        className="g-2 mb-3",
                    ),
                ],
                id="ingest-controls",
            ),
            dcc.Loading(html.Div(id="ingest-body"), delay_show=400),
        ]
    )


# --- the summary: cards and skipped files ---------------------------------------------------


def ago(now_ms: int, then_ms: int) -> str:
    """``just now``, ``1 minute ago``, ``5 hours ago``, ``3 days ago``."""
    minutes = max(0, now_ms - then_ms) // 60_000
    if minutes < 1:
        return "just now"
    if minutes < 60:
        n, unit = minutes, "minute"
    elif minutes < 48 * 60:
        n, unit = minutes // 60, "hour"
    else:
        n, unit = minutes // (24 * 60), "day"
    return f"{n} {unit}{'' if n == 1 else 's'} ago"


def local_time(ms: int, tz: str) -> str:
    """``2026-11-29 20:40`` in ``tz``."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _card(
    card_id: str,
    title: str,
    value: str,
    sub: str,
    *,
    hint: str,
    widths: tuple[int, int, int],
    color: str | None = None,
    more: list[Any] | None = None,
) -> Any:
    """A card like :func:`components.metric_card`, with a line of detail instead of a change
    against the previous period (nothing here has one)."""
    xs, md, xl = widths
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                html.Div(
                    [
                        html.Div(title, className="metric-title"),
                        html.Div(
                            value,
                            id=f"{card_id}-value",
                            className="metric-value",
                            style={"color": color} if color else None,
                        ),
                        html.Div(sub, id=f"{card_id}-sub", className="metric-delta text-secondary"),
                        *(more or []),
                    ],
                    title=hint,
                )
            ),
            id=card_id,
            className="metric-card h-100",
        ),
        xs=xs,
        md=md,
        xl=xl,
        className="mb-3 metric-col",
    )


def states_text(states: dict[str, int]) -> str:
    """``558 active · 548 archived · 0 gone · 0 skipped`` (+ replaced when there are such)."""
    order = [s for s in IQ.STATES if s in states]
    return " · ".join(f"{fmt.integer(states[s])} {s}" for s in order)


def kinds_text(kinds: dict[str, int]) -> str:
    """``1,064 transcripts · 42 gateway logs · 3 sessions.json``: the tracked files by kind
    (transcripts always, the other kinds when there are such)."""
    shown = [(name, n) for name, n in kinds.items() if n or name == "transcripts"]
    return " · ".join(
        f"{fmt.integer(n)} {name if n != 1 else _ONE.get(name, name)}" for name, n in shown
    )


_ONE = {"transcripts": "transcript", "gateway logs": "gateway log", "SQLite stores": "SQLite store"}


def cli_text(files: dict[str, Any]) -> str:
    """How many of the tracked files the closing line of ``ingest`` counts ("1106 files")."""
    return f"ingest counts {fmt.integer(files['cli_files'])} of them"


_FILES_HINT = (
    "Every file and SQLite store the ingestor tracks (all time), by state and by kind. "
    'The closing line of agentbox-telemetry ingest ("N files") counts the transcripts, '
    "SQLite stores and gateway logs a pass finds: the tracked ones still there, without the "
    "sessions.json indexes (read for keys and kinds, not counted there), gone files, and "
    "files replaced by a new file at their path."
)


def cards(view: View, files: dict[str, Any], counts: dict[str, int]) -> Any:
    last = files["last_seen_ms"]
    if last is None:
        last_value, last_sub = "—", "no file tracked yet"
    else:
        last_value = local_time(last, view.tz)
        last_sub = ago(view.ctx.now_ms(), last)
    errors, warnings = counts["error"], counts["warning"]
    return dbc.Row(
        [
            _card(
                "ingest-card-files",
                "Files tracked",
                fmt.integer(files["files"]),
                states_text(files["states"]),
                hint=_FILES_HINT,
                widths=(12, 6, 3),
                more=[
                    html.Div(
                        kinds_text(files["kinds"]),
                        id="ingest-card-files-kinds",
                        className="metric-delta text-secondary",
                    ),
                    html.Div(
                        cli_text(files),
                        id="ingest-card-files-cli",
                        className="metric-delta text-secondary",
                    ),
                ],
            ),
            _card(
                "ingest-card-lines",
                "Lines read",
                fmt.integer(files["lines"]),
                "all files, all passes",
                hint="Lines (or store events) read from the tracked files, all time",
                widths=(4, 6, 2),
            ),
            _card(
                "ingest-card-errors",
                "Errors",
                fmt.integer(errors),
                "lines skipped",
                hint="Lines the ingestor could not use, recorded in the range",
                widths=(4, 4, 2),
                color=_ERROR_RED if errors else None,
            ),
            _card(
                "ingest-card-warnings",
                "Warnings",
                fmt.integer(warnings),
                "lines read with a warning",
                hint="Lines read with something counted as 0 or replaced, recorded in the range",
                widths=(4, 4, 2),
                color=_WARNING_ORANGE if warnings else None,
            ),
            _card(
                "ingest-card-last",
                f"Last activity ({view.tz})",
                last_value,
                last_sub,
                hint="The newest time the ingestor registered, read, renamed or lost a file. A "
                "pass that finds nothing new changes nothing, so a running ingestor with "
                "nothing to read stays quiet here.",
                widths=(12, 4, 3),
            ),
        ],
        className="g-3",
    )


def skipped_section(rows: list[dict[str, Any]]) -> Any:
    note = html.Div(_NAME_SKIPS, className="section-subtitle text-secondary mt-2 mb-0")
    if not rows:
        content: Any = html.Div(
            "No file was skipped.", id="ingest-skipped-none", className="text-secondary"
        )
    else:
        content = dbc.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th("Reason"),
                            html.Th("Files", className="text-end"),
                            html.Th("Examples (most recently seen first)"),
                        ]
                    )
                ),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(r["reason"] or "(no reason recorded)"),
                                html.Td(fmt.integer(r["files"]), className="text-end"),
                                html.Td(
                                    [
                                        html.Div(html.Code(p), style={"wordBreak": "break-all"})
                                        for p in r["examples"]
                                    ]
                                ),
                            ]
                        )
                        for r in rows
                    ]
                ),
            ],
            id="ingest-skipped-table",
            size="sm",
            className="mb-0",
            responsive=True,
        )
    return C.section(
        "Skipped files",
        content,
        note,
        subtitle="Files found but not read: their first readable line is neither a session "
        "header nor an entry. All time.",
    )


def summary(conn: Any, view: View) -> Any:
    f = view.filters
    files, counts, skipped = Q.run_parallel(
        conn,
        lambda c: IQ.file_summary(c, f),
        lambda c: IQ.error_counts(c, f),
        lambda c: IQ.skipped_reasons(c, f),
    )
    caption = (
        f"{view.range.label} · {view.tz} · errors and warnings count by when the ingestor "
        "recorded them (not the time inside the line); files and lines read are all time"
    )
    if view.state.agents:
        caption += " · the agent filter applies to files with an agent"
    return html.Div(
        [
            html.Div(caption, id="ingest-caption", className="range-caption"),
            cards(view, files, counts),
            skipped_section(skipped),
        ]
    )


# --- the errors -----------------------------------------------------------------------------


def _when(ms: int, zone: ZoneInfo) -> str:
    return C.iso_time(datetime.fromtimestamp(ms / 1000, zone))


_UUID = re.compile(r"\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def _split(path: str) -> tuple[str, str]:
    """(folder, file name) of a path as the ingestor stored it; a session UUID in the name is
    cut to its first 8 characters (the full path is the cell's tooltip and the CSV's)."""
    folder, _, name = path.rpartition("/")
    return folder, _UUID.sub("\\1…", name or path)


def problem_rows(rows: list[dict[str, Any]], view: View) -> list[dict[str, Any]]:
    zone = ZoneInfo(view.tz)
    return [
        {
            "problem": r["problem"],
            "severity": r["severity"],
            "lines": r["lines"],
            "files": r["files"],
            "last": _when(r["last_ms"], zone),
            "example": r["example"],
        }
        for r in rows
    ]


def recent_rows(rows: list[dict[str, Any]], view: View) -> list[dict[str, Any]]:
    """The grid's rows: raw values (what a CSV export gets); the time is ISO 8601 local time
    with the zone's offset."""
    zone = ZoneInfo(view.tz)
    return [
        {
            "time": _when(r["created_ms"], zone),
            "severity": r["severity"],
            "file": _split(r["path"])[1],
            "line_offset": r["line_offset"],
            "reason": r["reason"],
            "excerpt": r["excerpt"] or "",
            "path": r["path"],
            "source_id": r["source_id"],
        }
        for r in rows
    ]


def recent_grid(rows: list[dict[str, Any]]) -> Any:
    """The most recent lines, with a CSV export of the raw values only (the full path, not the
    shortened file name)."""
    grid = C.grid("ingest-grid", rows, RECENT_COLUMNS, height=560, csv_name=CSV_NAME)
    grid.csvExportParams = {"fileName": CSV_NAME, "columnKeys": list(CSV_COLUMNS)}
    return grid


def file_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        folder, name = _split(r["path"])
        out.append(
            {
                "file": name,
                "folder": folder,
                "path": r["path"],
                "kind": r["kind"],
                "state": r["state"],
                "errors": r["errors"],
                "warnings": r["warnings"],
                "lines": r["lines"],
            }
        )
    return out


def _plural(n: int, word: str) -> str:
    return f"{fmt.integer(n)} {word}{'' if n == 1 else 's'}"


def count_text(
    matching: dict[str, int],
    total: dict[str, int],
    filtered: bool,
    shown: int,
    since: str | None = None,
) -> str:
    """``24 lines recorded in the range: 15 errors · 9 warnings``; with the page's filters,
    ``6 of 24 lines recorded in the range match: 0 errors · 6 warnings``. ``since``: the range
    holds more than ``IQ.WINDOW`` lines and the tables cover the most recent ones, recorded
    since then (local time)."""
    n, all_n = sum(matching.values()), sum(total.values())
    split = f"{_plural(matching['error'], 'error')} · {_plural(matching['warning'], 'warning')}"
    where = "recorded in the range" if since is None else f"recorded since {since}"
    if filtered:
        text = f"{fmt.integer(n)} of {_plural(all_n, 'line')} {where} match: {split}"
    else:
        text = f"{_plural(n, 'line')} {where}: {split}"
    if since is not None:
        text += (
            f" · the range holds more than {fmt.integer(IQ.WINDOW)} lines, so the tables below "
            "cover the most recent ones (the cards count them all)"
        )
    if n > shown:
        text += f" · the table of lines shows the {fmt.integer(shown)} most recent"
    return text


def _no_errors_ever() -> Any:
    return C.message_panel(
        "No ingest errors: every line read was understood",
        [
            html.P(
                "The ingestor has recorded no error and no warning: no line was skipped, and "
                "none was read with a value counted as 0 or replaced.",
                className="mb-0",
            )
        ],
        tone="success",
        panel_id="ingest-no-errors",
    )


def body(conn: Any, view: View, q: IQ.ErrorQuery) -> tuple[Any, Any]:
    """(the errors' part of the page, the style of its controls: hidden when the range has
    no error at all)."""
    f = view.filters
    shown_style: dict[str, str] = {}
    hidden: dict[str, str] = {"display": "none"}
    extent = IQ.errors_extent(conn)
    if extent is None:
        return _no_errors_ever(), hidden
    if not IQ.has_errors(conn, f):
        hint = range_hint(conn, view, extent, hint_id="ingest-range-hint")
        panel = C.message_panel(
            "No ingest errors in this range",
            [
                html.P(
                    "The ingestor recorded no error and no warning in this range: every line "
                    "it read then was understood.",
                    className="mb-0",
                )
            ],
            tone="success",
            panel_id="ingest-empty",
        )
        return html.Div([*([hint] if hint is not None else []), panel]), hidden
    filtered = bool(q.severities or q.text)
    cutoff = IQ.window_start(conn, f)
    since = None
    if cutoff is not None:  # more errors than the tables read: the most recent ones
        f = f.with_range(cutoff, f.until_ms)
        since = local_time(cutoff, view.tz)
    work = [
        lambda c: IQ.error_counts(c, f, q),
        lambda c: IQ.problems(c, f, q),
        lambda c: IQ.recent_errors(c, f, q, IQ.RECENT_LIMIT),
        lambda c: IQ.error_files(c, f, q),
    ]
    if filtered:
        work.append(lambda c: IQ.error_counts(c, f))
    matching, problems, recent, files, *rest = Q.run_parallel(conn, *work)
    total = rest[0] if rest else matching
    count = html.Div(
        count_text(matching, total, filtered, len(recent), since),
        id="ingest-count",
        className="range-caption",
    )
    if not recent:
        return (
            html.Div(
                [
                    count,
                    C.no_data("No errors or warnings match these filters in this range."),
                ],
                id="ingest-empty",
            ),
            shown_style,
        )
    agent_note = " · files of the chosen agents and files with no agent" if f.agents else ""
    csv = dbc.Button("Download CSV", id="ingest-csv", color="secondary", outline=True, size="sm")
    return (
        html.Div(
            [
                count,
                C.section(
                    "By problem",
                    C.grid(
                        "ingest-problems",
                        problem_rows(problems, view),
                        PROBLEM_COLUMNS,
                        height=min(110 + 42 * len(problems), 520),
                    ),
                    subtitle="A problem is a reason with its per-line details (values, "
                    "positions, sizes, a store's session) left out; the example is one reason "
                    f"as recorded. Times in {view.tz}{agent_note}.",
                ),
                C.section(
                    "Most recent lines",
                    html.Div(csv, className="mb-2"),
                    recent_grid(recent_rows(recent, view)),
                    subtitle=f"Newest first, times in {view.tz}. The CSV holds the raw values "
                    "(ISO 8601 times, full paths, byte offsets).",
                ),
                C.section(
                    "Files with the most errors",
                    C.grid("ingest-files", file_rows(files), FILE_COLUMNS, height=520),
                    subtitle=f"The {IQ.TOP_FILES} files with the most matching errors (then "
                    "warnings) in the range; lines read count all passes.",
                ),
            ]
        ),
        shown_style,
    )


@callback(
    Output("ingest-summary", "children"),
    Input("state", "data"),
    Input("tick", "n_intervals"),
)
def render_summary(state, _tick=None):
    if state is None:
        raise PreventUpdate
    return guarded(state, summary, when_empty=True)


@callback(
    Output("ingest-body", "children"),
    Output("ingest-controls", "style"),
    Input("state", "data"),
    Input("ingest-severity", "value"),
    Input("ingest-q", "value"),
    Input("tick", "n_intervals"),
)
def render(state, severity, text, _tick=None):
    if state is None:
        raise PreventUpdate
    q = IQ.ErrorQuery(
        severities=(severity,) if severity in IQ.SEVERITIES else (),
        text=(text or "").strip(),
    )
    out = guarded(state, lambda conn, view: body(conn, view, q), secondary=True, when_empty=True)
    if isinstance(out, tuple):
        return out
    # a database panel, or none (the summary shows it); after a time limit the filters stay
    return out, {} if getattr(out, "id", None) == "db-timeout" else {"display": "none"}


@callback(
    Output("ingest-grid", "exportDataAsCsv"),
    Input("ingest-csv", "n_clicks"),
    prevent_initial_call=True,
)
def export_csv(_n):
    return True
