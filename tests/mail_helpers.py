"""Helpers of the correspondence tests: people, the two procedures, files, waiting."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from flask.testing import FlaskClient

from accounts import service as accounts
from engine import definitions, jobs
from engine.actor import Actor

PROCEDURES = Path(__file__).resolve().parent.parent / "bpmn"
T = TypeVar("T")
Headers = dict[str, str]


def deploy_procedures() -> None:
    """Deploy bpmn/assignment.bpmn and bpmn/order.bpmn as shipped."""
    for name in ("assignment.bpmn", "order.bpmn"):
        definitions.deploy((PROCEDURES / name).read_bytes(), name, "test")


def make_user(
    name: str, groups: tuple[str, ...] = (), email: str = "", locale: str = "en"
) -> Actor:
    """A user (cheap password) and their actor."""
    user = accounts.create_user(name, f"{name}-password", list(groups), email=email, locale=locale)
    return accounts.actor_of(user)


def bearer(name: str) -> Headers:
    token, _ = accounts.issue_token(name, 3600)
    return {"Authorization": f"Bearer {token}"}


def later(seconds: float) -> str:
    """An ISO 8601 moment `seconds` from now (UTC)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def upload(client: FlaskClient, headers: Headers, name: str, data: bytes) -> str:
    """Store a file through the records office's API; return its id."""
    response = client.post(
        "/api/v1/files",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(data), name)},
    )
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def wait_for(predicate: Callable[[], T], timeout: float = 20.0, run_jobs: bool = True) -> T:
    """Run due jobs (as a worker would) until `predicate` holds; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run_jobs:
            jobs.run_due("test-worker")
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not reached within {timeout} s")


def drain(limit: int = 20) -> None:
    """Run every job that is due now, until none is left."""
    for _ in range(limit):
        if not jobs.run_due("test-worker"):
            return


def ids(response: Any, kind: str | None = None) -> set[str]:
    """The ids of a list response's items (of one kind, for the mailbox)."""
    assert response.status_code == 200, response.json
    return {i["id"] for i in response.json["items"] if kind is None or i.get("kind") == kind}
