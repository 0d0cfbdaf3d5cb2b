"""One module per page (layout + thin callbacks registered with ``dash.callback``), and the
table of paths the router and the navigation use. Pages never import ``webapp.app``."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from webapp.pages import (
    alerts,
    costs,
    cron,
    ingest,
    logs,
    models,
    overview,
    session,
    sessions,
    timeline,
    tools,
)

# nav key -> (path, name), in navigation order
PAGES: dict[str, tuple[str, str]] = {
    "overview": ("/", "Overview"),
    "timeline": ("/timeline", "Timeline"),
    "models": ("/models", "Models"),
    "costs": ("/costs", "Costs"),
    "tools": ("/tools", "Tools"),
    "sessions": ("/sessions", "Sessions"),
    "cron": ("/cron", "Cron & sub-agents"),
    "alerts": ("/alerts", "Alerts"),
    "logs": ("/logs", "Logs"),
    "ingest": ("/ingest", "Ingest"),
}
_MODULES: dict[str, ModuleType] = {
    "/": overview,
    "/overview": overview,
    "/timeline": timeline,
    "/models": models,
    "/costs": costs,
    "/tools": tools,
    "/sessions": sessions,
    "/cron": cron,
    "/alerts": alerts,
    "/logs": logs,
    "/ingest": ingest,
}
_SESSION = re.compile(r"^/session/(?P<session_id>[^/]+)/?$")


def resolve(pathname: str) -> tuple[ModuleType | None, dict[str, Any]]:
    """The page module for a path and its path parameters."""
    from urllib.parse import unquote

    path = pathname.rstrip("/") or "/"
    if path in _MODULES:
        return _MODULES[path], {}
    m = _SESSION.match(pathname)
    if m:
        return session, {"session_id": unquote(m.group("session_id"))}
    return None, {}
