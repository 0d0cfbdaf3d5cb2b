"""The Dash application: ``create_app(settings)`` builds the shared context (engines are made
once, lazily), the shell (navigation, global controls, URL state, router) and registers every
page's callbacks; ``run(settings)`` serves it. Assets (Bootstrap 5 CSS, our stylesheet) are
served from ``webapp/assets``: nothing is loaded from the network."""

from __future__ import annotations

from pathlib import Path

import dash

from ingestor.config import ServeSettings
from webapp import pages as _pages  # noqa: F401  (registers the page callbacks)
from webapp import shell
from webapp.context import AppContext, local_zone_name, set_context
from webapp.state import valid_tz

ASSETS = Path(__file__).parent / "assets"


def create_app(settings: ServeSettings, context: AppContext | None = None) -> dash.Dash:
    """The dashboard for ``settings.db_url``. ``context`` lets tests fix the clock."""
    tz = settings.extra.get("tz") or local_zone_name()
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


def run(settings: ServeSettings) -> None:
    """Serve the dashboard at settings.host:settings.port (debug off unless asked)."""
    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, debug=settings.debug)
