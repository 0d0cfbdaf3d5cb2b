"""The frame around every page: navigation, the global controls (range, custom dates, time
zone, agent / kind / provider / model filters, auto-refresh), the URL <-> state sync and the
router that puts a page's layout in place.

The URL query string is the one source of truth: one callback both reads it (on load, on
back/forward) and writes it (when a control changes), and stores the parsed state in
``dcc.Store(id="state")``, which every page callback reads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from webapp import components as C
from webapp import queries as Q
from webapp.context import get_context
from webapp.pages import PAGES, resolve
from webapp.state import COST_BASES, PRESETS, REFRESH_CHOICES, parse_query, to_query
from webapp.timeranges import resolve_range

_CONTROLS = ("ctl-range", "ctl-tz", "ctl-agent", "ctl-kind", "ctl-provider", "ctl-model")


def _multi(cid: str, placeholder: str) -> Any:
    return dcc.Dropdown(id=cid, multi=True, placeholder=placeholder, options=[], value=[])


def _labelled(label: str, control: Any, **col: Any) -> Any:
    return dbc.Col([html.Label(label, className="control-label"), control], className="mb-2", **col)


def controls(default_tz: str) -> Any:
    zones = sorted(available_timezones() | {default_tz, "UTC"})
    row = dbc.Row(
        [
            _labelled(
                "Range",
                dcc.Dropdown(
                    id="ctl-range",
                    options=[{"label": v, "value": k} for k, v in PRESETS.items()],
                    value="7d",
                    clearable=False,
                ),
                xs=6,
                md=3,
                lg=2,
            ),
            _labelled(
                "Dates",
                dcc.DatePickerRange(
                    id="ctl-dates",
                    display_format="YYYY-MM-DD",
                    minimum_nights=0,
                    className="date-range",
                ),
                xs=12,
                md=5,
                lg=3,
            ),
            _labelled(
                "Time zone",
                dcc.Dropdown(
                    id="ctl-tz",
                    options=zones,
                    value=default_tz,
                    clearable=False,
                    # opening it puts the cursor in its search box (assets/dropdown-search.js)
                    className="search-on-open",
                ),
                xs=6,
                md=4,
                lg=2,
            ),
            _labelled("Agent", _multi("ctl-agent", "All"), xs=6, md=3, lg=1),
            _labelled("Kind", _multi("ctl-kind", "All"), xs=6, md=3, lg=1),
            _labelled("Provider", _multi("ctl-provider", "All"), xs=6, md=3, lg=1),
            _labelled("Model", _multi("ctl-model", "All"), xs=6, md=3, lg=1),
            _labelled(
                "Refresh",
                dcc.Dropdown(
                    id="ctl-refresh",
                    options=[
                        {"label": f"{s} s" if s else "Off", "value": s} for s in REFRESH_CHOICES
                    ],
                    value=0,
                    clearable=False,
                ),
                xs=6,
                md=3,
                lg=1,
            ),
        ],
        className="g-2",
    )
    return html.Div(row, className="controls")


def cost_basis_control() -> Any:
    """The global "Cost: effective | list price" switch of the cost charts (in the URL)."""
    return html.Div(
        [
            html.Span("Cost", className="basis-label"),
            dbc.RadioItems(
                id="ctl-basis",
                options=[{"label": v, "value": k} for k, v in COST_BASES.items()],
                value="effective",
                className="btn-group btn-group-sm",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-light",
                labelCheckedClassName="active",
            ),
        ],
        className="basis-control ms-auto d-flex align-items-center",
        title="Cost charts show the effective cost (override, else logged, else list price) "
        "or the list price of the calls' tokens",
    )


def navbar() -> Any:
    links = [
        dbc.NavItem(dbc.NavLink(name, id=f"nav-{key}", href=path))
        for key, (path, name) in PAGES.items()
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("AgentBox Telemetry", href="/", className="fw-semibold"),
                dbc.NavbarToggler(id="nav-toggle"),
                dbc.Collapse(
                    [dbc.Nav(links, navbar=True), cost_basis_control()],
                    id="nav-collapse",
                    navbar=True,
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        # Ten links and the cost switch need about 1,150 px: below that, the menu button.
        expand="xl",
        className="mb-3",
    )


def layout(default_tz: str) -> Any:
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            dcc.Store(id="state"),
            dcc.Interval(id="tick", interval=30_000, disabled=True),
            navbar(),
            dbc.Container(
                [controls(default_tz), html.Div(id="page", className="page")],
                fluid=True,
            ),
        ]
    )


def nav_open_after(trigger: Any, is_open: bool | None) -> bool:
    """Whether the collapsed menu (narrow screens) is open after ``trigger``: the menu button
    opens or closes it; choosing a page (a link, even the current page's, or the new path)
    closes it, so it never covers the page that was chosen."""
    return not is_open if trigger == "nav-toggle" else False


@callback(
    Output("nav-collapse", "is_open"),
    Input("nav-toggle", "n_clicks"),
    Input("url", "pathname"),
    *(Input(f"nav-{key}", "n_clicks") for key in PAGES),
    State("nav-collapse", "is_open"),
    prevent_initial_call=True,
)
def toggle_nav(*args: Any) -> bool:
    return nav_open_after(ctx.triggered_id, args[-1])


def _picker_dates(state: Any, now_ms: int) -> tuple[Any, Any]:
    if state.range == "all":
        return None, None
    rng = resolve_range(state.range, state.tz, now_ms, state.start, state.end)
    tz = ZoneInfo(state.tz)
    assert rng.since_ms is not None
    assert rng.until_ms is not None
    first = datetime.fromtimestamp(rng.since_ms / 1000, tz).date()
    last = datetime.fromtimestamp((rng.until_ms - 1) / 1000, tz).date()
    return first.isoformat(), last.isoformat()


@callback(
    Output("url", "search"),
    Output("state", "data"),
    Output("ctl-range", "value"),
    Output("ctl-dates", "start_date"),
    Output("ctl-dates", "end_date"),
    Output("ctl-tz", "value"),
    Output("ctl-agent", "value"),
    Output("ctl-kind", "value"),
    Output("ctl-provider", "value"),
    Output("ctl-model", "value"),
    Output("ctl-refresh", "value"),
    Output("tick", "disabled"),
    Output("tick", "interval"),
    Output("ctl-agent", "options"),
    Output("ctl-kind", "options"),
    Output("ctl-provider", "options"),
    Output("ctl-model", "options"),
    Output("ctl-basis", "value"),
    Input("url", "search"),
    Input("ctl-range", "value"),
    Input("ctl-dates", "start_date"),
    Input("ctl-dates", "end_date"),
    Input("ctl-tz", "value"),
    Input("ctl-agent", "value"),
    Input("ctl-kind", "value"),
    Input("ctl-provider", "value"),
    Input("ctl-model", "value"),
    Input("ctl-refresh", "value"),
    Input("ctl-basis", "value"),
)
def sync_state(  # type: ignore[no-untyped-def]
    search, rng, start, end, tz, agents, kinds, providers, models, refresh, basis=None
):
    """URL -> controls and state (on load, back/forward); controls -> URL and state. The
    filter choices are set together with the values (a value without its option would be
    dropped by the dropdown)."""
    app_ctx = get_context()
    default_tz = app_ctx.default_tz
    trigger = ctx.triggered_id
    if trigger == "ctl-dates" and not (start and end):
        # The first click of a range in the calendar (its end not chosen yet): leave the
        # picker alone; writing the old dates back would undo the click.
        raise PreventUpdate
    state = parse_query(search, default_tz)
    if trigger not in (None, "url"):
        changes: dict[str, Any] = {
            "tz": tz or default_tz,
            "agents": tuple(agents or ()),
            "kinds": tuple(kinds or ()),
            "providers": tuple(providers or ()),
            "models": tuple(models or ()),
            "refresh": refresh or 0,
            "cost_basis": basis or state.cost_basis,
        }
        if trigger == "ctl-dates" and start and end:
            changes.update(range="custom", start=start[:10], end=end[:10])
        elif trigger == "ctl-range":
            if rng == "custom":
                s, e = _picker_dates(state, app_ctx.now_ms())
                changes.update(range="custom", start=start or s, end=end or e)
            else:
                changes.update(range=rng, start=None, end=None)
        state = parse_query(to_query(replace(state, **changes), default_tz), default_tz)
    new_search = to_query(state, default_tz)
    p_start, p_end = _picker_dates(state, app_ctx.now_ms())
    options: tuple[Any, ...] = (no_update,) * 4
    if trigger in (None, "url"):
        options = _choices(state)
    return (
        new_search if new_search != (search or "") else no_update,
        state.to_dict(),
        state.range,
        p_start,
        p_end,
        state.tz,
        list(state.agents),
        list(state.kinds),
        list(state.providers),
        list(state.models),
        state.refresh,
        state.refresh == 0,
        max(state.refresh, 1) * 1000,
        *options,
        state.cost_basis,
    )


def _choices(state: Any) -> tuple[list[str], ...]:
    """Filter choices from the database (cached for a minute); selected values stay offered."""
    app_ctx = get_context()
    try:
        with app_ctx.engine().connect() as conn:
            opts = app_ctx.cached("options", 60, lambda: Q.filter_options(conn))
    except Exception:  # the page itself shows the database problem
        opts = {"agents": [], "kinds": [], "providers": [], "models": []}
    return tuple(
        sorted(set(opts[key]) | set(getattr(state, key)))
        for key in ("agents", "kinds", "providers", "models")
    )


@callback(
    [Output(f"nav-{key}", "href") for key in PAGES],
    [Output(f"nav-{key}", "active") for key in PAGES],
    Input("url", "search"),
    Input("url", "pathname"),
)
def nav_links(search: str | None, pathname: str | None) -> tuple[Any, ...]:
    """Links keep the query string, so the range and filters follow the user."""
    hrefs = [path + (search or "") for path, _ in PAGES.values()]
    current = pathname or "/"
    active = [
        current == path or (path != "/" and current.startswith(path + "/"))
        for path, _ in PAGES.values()
    ]
    if current.startswith("/session/"):
        active = [key == "sessions" for key in PAGES]
    return (*hrefs, *active)


@callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))
def route(pathname: str | None, search: str | None) -> Any:
    page, params = resolve(pathname or "/")
    if page is None:
        return C.not_found(f"There is no page at {pathname}.")
    return page.layout(search=search or "", **params)
