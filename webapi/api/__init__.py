"""The HTTP API's blueprints."""

from __future__ import annotations

from flask_smorest import Api

from . import (
    actions,
    appeals,
    assignments,
    auth,
    cards,
    contacts,
    contracts,
    definitions,
    deliveries,
    documents,
    files,
    health,
    incidents,
    instances,
    invoices,
    journals,
    linear_procedures,
    macros,
    mail_messages,
    mailbox,
    messages,
    monitor,
    nomenclature,
    notifications,
    orders,
    organizations,
    products,
    reports,
    signatures,
    suppliers,
    tasks,
    templates,
)


def register_blueprints(api: Api) -> None:
    """Register every blueprint under /api/v1."""
    for module in (
        health,
        auth,
        definitions,
        instances,
        tasks,
        linear_procedures,
        macros,
        messages,
        incidents,
        monitor,
        organizations,
        contacts,
        actions,
        products,
        suppliers,
        contracts,
        invoices,
        deliveries,
        files,
        signatures,
        documents,
        journals,
        cards,
        appeals,
        nomenclature,
        templates,
        mailbox,
        mail_messages,
        assignments,
        orders,
        notifications,
        reports,
    ):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.PREFIX}")
