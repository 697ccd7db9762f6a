"""The Flask application: `create_app(config)` builds everything, nothing at import time."""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

import admin_ui
from accounts.login import MODELS as LOGIN_MODELS
from engine.idempotency import MODELS as IDEMPOTENCY_MODELS
from engine.message_store import MODELS as MESSAGE_MODELS

from . import database, documents_setup, errors, guards, hardening, mail_setup, query_params
from .api import reference, register_blueprints
from .config import Settings

API_PREFIX = "/api/v1"


def schema_name(schema: type | object) -> str:
    """OpenAPI component names: schemas of a feature's own module (webapi/api/*.py,
    *_schemas.py) carry the module's name, so two features may both have a `Message`."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    module = cls.__module__
    if module.startswith("webapi.api.") or module.endswith("_schemas"):
        return f"{module.rsplit('.', 1)[-1]}.{name}"
    return name


class CrmApi(Api):
    """flask-smorest's Api with our error body instead of its own."""

    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        return errors.handle_http_exception(error)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides settings (tests pass a dict)."""
    settings = Settings.from_env().with_overrides(config)
    if not settings.mongodb_uri:
        raise RuntimeError("no database: set MONGODB_URI or start with `crm serve`")
    app = Flask(__name__)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.resolved_secret_key(),
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_bpmn_bytes + 64 * 1024,
        API_TITLE="BPM CRM",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_REDOC_PATH="docs",
        OPENAPI_REDOC_URL=None,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    hardening.register(app, settings)
    database.register_models(*LOGIN_MODELS, *IDEMPOTENCY_MODELS, *MESSAGE_MODELS)
    database.connect(settings.mongodb_uri, settings.db_name)
    mail_setup.configure(settings)
    documents_setup.configure(settings)
    api = CrmApi(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
        },
    )
    errors.register(app)
    app.before_request(guards.check_json_body)
    app.before_request(query_params.check_query_parameters)
    register_blueprints(api)
    app.extensions["crm_api"] = api
    app.register_blueprint(reference.bp)
    admin_ui.init_app(app)
    return app
