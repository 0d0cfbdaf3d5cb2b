"""The Dash application: ``create_app(settings)`` builds the shared context (engines are made
once, lazily), the shell (navigation, global controls, URL state, router) and registers every
page's callbacks; ``run(settings)`` serves it. Assets (Bootstrap 5 CSS, our stylesheet) are
served from ``webapp/assets``: nothing is loaded from the network.

``run`` serves with waitress (a production WSGI server, pure Python) on a few threads: a page
fires several callbacks at once and each waits on the database. Dash's development server is
used only with ``debug`` (reloader, error overlay)."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import dash

from ingestor.config import ServeSettings
from webapp import pages as _pages  # noqa: F401  (registers the page callbacks)
from webapp import shell
from webapp.context import AppContext, set_context
from webapp.state import valid_tz

ASSETS = Path(__file__).parent / "assets"
#: Worker threads of the WSGI server (the read-only SQLite pool holds 8 connections).
THREADS = 8


def create_app(settings: ServeSettings, context: AppContext | None = None) -> dash.Dash:
    """The dashboard for ``settings.db_url``. ``context`` lets tests fix the clock."""
    tz = settings.extra.get("tz") or "UTC"  # the CLI passes the machine's zone
    ctx = context or AppContext(settings=settings, default_tz=tz if valid_tz(tz) else "UTC")
    set_context(ctx)
    app = dash.Dash(
        __name__,
        title="AgentBox Telemetry",
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,
        serve_locally=True,
        update_title="",
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = shell.layout(ctx.default_tz)
    return app


def display_url(host: str, port: int) -> str:
    """The address to open in a browser (a wildcard address is reachable as localhost)."""
    if host in ("", "0.0.0.0", "::", "*"):
        return f"http://localhost:{port}/ (listening on all addresses)"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class ServeError(Exception):
    """The server cannot start (one line for the user)."""


def serve(app: dash.Dash, host: str, port: int, threads: int = THREADS) -> None:
    """Serve ``app`` with waitress until Ctrl-C (or SIGTERM): prints the URL once, and stops
    without a traceback."""
    from waitress import create_server

    try:
        server = create_server(app.server, host=host, port=port, threads=threads, ident="agentbox")
    except (OSError, ValueError) as exc:  # port taken, no permission, an invalid address
        reason = getattr(exc, "strerror", None) or str(exc).rstrip(".")
        raise ServeError(f"cannot listen on {host}:{port}: {reason}") from exc
    port = int(getattr(server, "effective_port", port))
    print(f"AgentBox Telemetry dashboard: {display_url(host, port)}", file=sys.stderr, flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)  # docker stop: same clean exit as Ctrl-C
    try:
        server.run()  # returns on Ctrl-C (waitress catches KeyboardInterrupt itself)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("dashboard stopped", file=sys.stderr, flush=True)


def run(settings: ServeSettings) -> None:
    """Serve the dashboard at settings.host:settings.port (Dash's development server only
    with ``debug``)."""
    app = create_app(settings)
    if settings.debug:
        app.run(host=settings.host, port=settings.port, debug=True)
        return
    serve(app, settings.host, settings.port)
