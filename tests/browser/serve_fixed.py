"""Serve the dashboard for the browser tests: ``python serve_fixed.py DB_PATH PORT NOW_MS``
(a fixed clock makes the presets, and so the numbers on screen, exact)."""

from __future__ import annotations

import sys

from ingestor.config import ServeSettings
from webapp.app import create_app, serve
from webapp.context import AppContext


def main() -> None:
    db, port, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    settings = ServeSettings(db_url=f"sqlite:///{db}", port=port)
    app = create_app(settings, AppContext(settings=settings, default_tz="UTC", clock=lambda: now))
    serve(app, "127.0.0.1", port)  # the production server, as `agentbox-telemetry serve`


if __name__ == "__main__":
    main()
