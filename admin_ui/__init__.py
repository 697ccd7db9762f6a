"""The web UI: server-rendered pages (Jinja + htmx) for staff, designers and admins.

`init_app(app)` attaches it; webapi.create_app calls it. See docs/ui.md.
"""

from __future__ import annotations

from flask import Flask, redirect, url_for
from werkzeug.wrappers import Response

from . import (
    correspondence,
    delegation,
    i18n,
    linear,
    mailbox,
    monitor,
    organizations,
    pages,
    procedures,
    records,
    records_setup,
    reports,
    sales,
    security,
    start_commands,
    workpage,
)
from .blueprint import bp

__all__ = [
    "correspondence",
    "delegation",
    "init_app",
    "linear",
    "mailbox",
    "monitor",
    "organizations",
    "pages",
    "procedures",
    "records",
    "records_setup",
    "reports",
    "sales",
    "start_commands",
    "workpage",
]


def _root() -> Response:
    return redirect(url_for("ui.index"))


def init_app(app: Flask) -> None:
    """Attach the UI under /ui: sessions, CSRF, languages, pages."""
    security.init_app(app)
    i18n.init_app(app)
    app.jinja_env.globals.update(csrf_token=security.csrf_token, is_designer=security.is_designer)
    app.register_blueprint(bp)
    app.add_url_rule("/", "ui_root", _root)
