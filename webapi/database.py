"""Connecting to MongoDB (or the embedded SecantusDB) and preparing collections."""

from __future__ import annotations

from typing import Any

import mongoengine
from mongoengine.connection import get_db

from accounts.models import ALL_MODELS as ACCOUNT_MODELS
from documents.models import ALL_MODELS as DOCUMENT_MODELS
from engine import definitions
from engine.jobs import ALL_MODELS as JOB_MODELS
from engine.linear_procedures import ALL_MODELS as LINEAR_MODELS
from engine.macros import ALL_MODELS as MACRO_MODELS
from engine.models import ALL_MODELS as ENGINE_MODELS
from engine.start_rights import ALL_MODELS as START_RIGHTS_MODELS
from mail.models import ALL_MODELS as MAIL_MODELS
from registry.models import ALL_MODELS as REGISTRY_MODELS
from reports.models import ALL_MODELS as REPORT_MODELS

_MODELS: list[type] = [
    *ENGINE_MODELS,
    *JOB_MODELS,
    *LINEAR_MODELS,
    *MACRO_MODELS,
    *START_RIGHTS_MODELS,
    *ACCOUNT_MODELS,
    *DOCUMENT_MODELS,
    *REGISTRY_MODELS,
]
_MODELS += MAIL_MODELS
_MODELS += REPORT_MODELS


def register_models(*models: type) -> None:
    """Add models whose indexes `connect` creates (domain packages call this)."""
    for model in models:
        if model not in _MODELS:
            _MODELS.append(model)


def write_options(uri: str) -> dict[str, Any]:
    """Journaled writes (`j: true`) unless the URI says otherwise.

    A write is acknowledged only once it is in the database's journal on disk, so an
    acknowledged write survives the database process being killed (and, where the server
    fsyncs its journal for `j: true` as SecantusDB and MongoDB do, a power loss). The cost
    is one journal flush per write; `journal=false` in MONGODB_URI trades it away.
    """
    return {} if "journal=" in uri.lower() else {"journal": True}


_INDEXED: set[tuple[str, str, type]] = set()  # (uri, database, model) this process indexed


def connect(uri: str, db_name: str) -> None:
    """Connect the default MongoEngine alias and create every registered index.

    Indexes are made once per database and process: `crm serve` and every test connect
    more than once, and each of the ~330 index commands is a round trip.
    """
    mongoengine.disconnect()
    mongoengine.connect(
        db=db_name,
        host=uri,
        tz_aware=False,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
        **write_options(uri),
    )
    for model in _MODELS:
        if (uri, db_name, model) not in _INDEXED:
            model.ensure_indexes()  # type: ignore[attr-defined]
            _INDEXED.add((uri, db_name, model))


def disconnect() -> None:
    mongoengine.disconnect()


def ping() -> bool:
    """Whether the database answers."""
    try:
        get_db().command("ping")
        return True
    except Exception:  # any driver error means: not reachable
        return False


def drop_all() -> None:
    """Empty every collection of the database (tests use this between cases)."""
    definitions.forget_cached()
    db = get_db()
    for name in db.list_collection_names():
        if not name.startswith("system."):
            db[name].delete_many({})
