"""The HTTP API's blueprints."""

from __future__ import annotations

from flask_smorest import Api

from . import (
    actions,
    auth,
    contacts,
    contracts,
    definitions,
    deliveries,
    health,
    instances,
    invoices,
    messages,
    organizations,
    products,
    suppliers,
    tasks,
)


def register_blueprints(api: Api) -> None:
    """Register every blueprint under /api/v1."""
    for module in (health, auth, definitions, instances, tasks, messages,
                   organizations, contacts, actions, products, suppliers, contracts,
                   invoices, deliveries):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.PREFIX}")
