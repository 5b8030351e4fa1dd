"""Skein's web UI: server-rendered pages (Jinja2), a small hand-written script, live updates
by server-sent events. `ui_routes()` gives the routes the app mounts."""

from __future__ import annotations

from skein.ui.routes import ui_routes

__all__ = ["ui_routes"]
