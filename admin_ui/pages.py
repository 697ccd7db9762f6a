"""Signing in and out, the language switch, and error pages."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from accounts import service as accounts
from accounts import signin_limit
from accounts.errors import InvalidCredentials
from engine.errors import EngineError, InvalidInput, NotFound, PermissionDenied

from .blueprint import bp
from .i18n import LANGUAGES
from .security import safe_next, sign_in, sign_out

log = logging.getLogger(__name__)


@bp.route("/")
def index() -> Response:
    """The start page is the mailbox."""
    return redirect(url_for("ui.mailbox"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """The sign-in form."""
    next_url = safe_next(request.values.get("next"), url_for("ui.mailbox"))
    if request.method == "GET":
        return render_template("login.html", next_url=next_url, username="")
    username = request.form.get("username", "").strip()
    client = request.remote_addr or "unknown"
    wait = signin_limit.blocked(username, client)
    if wait is not None:
        minutes = max(1, -(-wait // 60))
        return render_template(
            "login.html",
            next_url=next_url,
            username=username,
            error=_("Too many failed attempts. Try again in %(minutes)s min.", minutes=minutes),
        ), 429
    try:
        user = accounts.authenticate(username, request.form.get("password", ""))
    except InvalidCredentials:
        signin_limit.record_failure(username, client)
        return render_template(
            "login.html",
            next_url=next_url,
            username=username,
            error=_("Wrong user name or password."),
        ), 401
    signin_limit.record_success(username)
    sign_in(user)
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the session."""
    sign_out()
    return redirect(url_for("ui.login"))


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    """Switch the UI language for this session."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("ui.mailbox")))


def _status_of(error: EngineError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, InvalidInput):
        return 422
    return 409


@bp.errorhandler(EngineError)
def domain_error(error: EngineError) -> tuple[str, int]:
    """A refused action as a page (or a fragment for htmx) with the reason."""
    status = _status_of(error)
    if request.headers.get("HX-Request"):
        return render_template("_error.html", status=status, message=error.message), status
    return render_template("error.html", status=status, message=error.message), status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    """A plain HTTP error as a page."""
    status = error.code or 500
    message = {
        400: _("The request was not accepted. Reload the page and try again."),
        403: _("You may not open this page."),
        404: _("There is no such page."),
        413: _("The file is too large."),
    }.get(status, error.name)
    return render_template("error.html", status=status, message=message), status


def flash_error(error: EngineError) -> None:
    """Show a refused action at the top of the next page."""
    flash(error.message, "error")
