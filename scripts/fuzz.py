"""`make fuzz`: schemathesis against the API's own OpenAPI document.

Starts a throw-away database (or uses MONGODB_URI with a database of its own), loads a
few definitions, instances and users, serves the app on a free local port and runs
schemathesis with positive and negative data against every operation, with a token, a
bounded number of examples, and the checks `not_a_server_error` and
`response_schema_conformance`. Exits with schemathesis' status.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from waitress import create_server

from accounts import service as accounts
from engine import definitions, instances
from webapi import create_app, database
from webapi.embedded_db import EmbeddedDatabase, free_port

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT / "tests" / "data"
CHECKS = "not_a_server_error,response_schema_conformance"
# The endpoints of the process API (issue 3) and linear procedures (issue 8);
# FUZZ_PATHS=all fuzzes every endpoint.
PROCESS_API = (
    r"^/api/v1/(auth|definitions|instances|tasks|messages|health"
    r"|linear-procedures)(/|$)"
)


@contextlib.contextmanager
def _database() -> Iterator[str]:
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    with EmbeddedDatabase(":memory:") as server:
        yield server.uri


def _seed() -> str:
    """Definitions, instances and an admin token to fuzz with."""
    for name in ("approval.bpmn", "parallel.bpmn", "message_wait.bpmn", "message_start.bpmn"):
        definitions.deploy((DATA / name).read_bytes(), name, "fuzz")
    admin = accounts.create_user(
        "fuzz-admin", "fuzz-password", ["designers", "integrations"], is_admin=True
    )
    actor = accounts.actor_of(admin)
    for _ in range(3):
        instances.start(
            "approval", actor, {"amount": 1}, {"type": "organization", "id": "o-1", "title": "Fuzz"}
        )
    instances.start("parallel", actor)
    instances.start("order_payment", actor, {"order_id": 1})
    token, _ = accounts.issue_token(admin.username, 3600, name="fuzz")
    return token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-examples", type=int, default=int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "1")))
    parser.add_argument(
        "--paths",
        default=os.environ.get("FUZZ_PATHS", PROCESS_API),
        help="regular expression of the paths to fuzz, or 'all'",
    )
    parser.add_argument(
        "--phases", default=os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing,stateful")
    )
    args = parser.parse_args()
    with _database() as uri:
        db_name = f"crm_fuzz_{os.getpid()}"
        database.connect(uri, db_name)
        app = create_app({"mongodb_uri": uri, "db_name": db_name, "secret_key": "fuzz"})
        token = _seed()
        port = free_port()
        server = create_server(app, host="127.0.0.1", port=port, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(  # noqa: S310 - ours
                    f"{base}/api/v1/health", timeout=5
                ),
            ):
                break
            time.sleep(0.1)
        argv = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{base}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
            "--no-color",
            "--workers",
            "1",
            "--phases",
            args.phases,
            # Revoking the token would leave every later request with a dead one.
            "--exclude-method",
            "DELETE",
            "--exclude-path",
            "/api/v1/auth/token/revoke",
        ]
        if args.paths != "all":
            argv += ["--include-path-regex", args.paths]
        started = time.monotonic()
        try:
            result = subprocess.run(argv, cwd=ROOT, check=False)
        finally:
            server.close()
            with contextlib.suppress(Exception):
                database.connect(uri, db_name)
                database.drop_all()
            database.disconnect()
        print(
            f"fuzz: schemathesis exited {result.returncode} in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
