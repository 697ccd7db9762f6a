"""The HTTP API's blueprints."""

from __future__ import annotations

from flask_smorest import Api

from . import auth, definitions, health, instances, messages, tasks


def register_blueprints(api: Api) -> None:
    """Register every blueprint under /api/v1."""
    for module in (health, auth, definitions, instances, tasks, messages):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.PREFIX}")
