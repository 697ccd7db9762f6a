"""POST /api/v1/auth/token: sign in for a bearer token; revoke it; who am I."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from accounts import login
from accounts import service as accounts
from webapi.auth import current_token, current_user
from webapi.schemas import MeSchema, TokenRequestSchema, TokenSchema

from .common import errors, secured

PREFIX = "/auth"
blp = Blueprint("auth", __name__, description="Bearer tokens")


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    @errors(blp, 401, 429)
    def post(self, body: dict[str, Any]) -> Any:
        """Exchange a username and password for a bearer token (rate-limited)."""
        settings = current_app.config["SETTINGS"]
        token, record = login.sign_in(
            body["username"],
            body["password"],
            request.remote_addr or "unknown",
            settings.token_ttl_seconds,
            settings.token_rate_limit_per_minute,
        )
        return {"token": token, "token_type": "Bearer", "expires_at": record.expires_at}

    @secured(blp)
    @blp.response(204)
    def delete(self) -> None:
        """Revoke the token this request carries."""
        accounts.revoke_token(current_token())


@blp.route("/token/revoke")
class Revoke(MethodView):
    @secured(blp)
    @blp.response(204)
    def post(self) -> None:
        """Revoke the token this request carries (for clients that cannot send DELETE)."""
        accounts.revoke_token(current_token())


@blp.route("/me")
class Me(MethodView):
    @secured(blp)
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """The caller: username, groups, whether an admin."""
        return current_user()
