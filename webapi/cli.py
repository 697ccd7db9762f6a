"""The `crm` command: serve, deploy, users, tokens, demo data, backup and restore.

Every command fails with a one-line message and exit code 2 on bad input.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
from mongoengine.connection import get_db
from waitress import create_server

from accounts import service as accounts
from documents import signatures
from engine import definitions, monitor, retention
from engine.background import EmbeddedWorker
from engine.errors import EngineError

from . import backup as backups
from . import create_app, database
from .config import Settings
from .demo import load_demo
from .embedded_db import EmbeddedDatabase, EmbeddedDatabaseError

log = logging.getLogger("crm")


def fail(message: str) -> NoReturn:
    """Print one line to stderr and exit with code 2."""
    click.echo(f"crm: error: {message}", err=True)
    sys.exit(2)


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[Settings]:
    """Use MONGODB_URI if set, else run the embedded database for the duration."""
    if settings.mongodb_uri:
        yield settings
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = EmbeddedDatabase(
            settings.data_dir / "db",
            port=settings.embedded_db_port,
            log_path=settings.data_dir / "secantusd.log",
            cache_size=settings.embedded_db_cache,
        )
    except EmbeddedDatabaseError as exc:
        fail(str(exc))
    if server.answers():
        # `crm serve` is running its embedded database: use that one.
        yield settings.with_overrides({"mongodb_uri": server.uri})
        return
    try:
        server.start()
    except EmbeddedDatabaseError as exc:
        fail(str(exc))
    try:
        yield settings.with_overrides({"mongodb_uri": server.uri})
    finally:
        server.stop()


@contextlib.contextmanager
def _connected() -> Iterator[Settings]:
    with _database(Settings.from_env()) as settings:
        try:
            database.connect(settings.mongodb_uri, settings.db_name)
        except Exception as exc:  # the driver has many error types; all mean "no database"
            fail(f"cannot reach the database: {exc}")
        try:
            yield settings
        finally:
            database.disconnect()


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one-line failures instead of tracebacks."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EngineError as exc:
            details = "; ".join(f"{k}: {v}" for k, v in exc.errors.items()) if exc.errors else ""
            fail(exc.message + (f" ({details})" if details else ""))

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group()
def main() -> None:
    """BPM CRM: counterparties, correspondence and records office on BPMN procedures."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("spiff").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default CRM_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default CRM_PORT or 8000).")
@_guard
def serve(host: str | None, port: int | None) -> None:
    """Serve the app; without MONGODB_URI, run the embedded database under var/."""
    with _database(Settings.from_env()) as settings:
        database.connect(settings.mongodb_uri, settings.db_name)
        for line in definitions.deploy_directory(settings.bpmn_dir):
            log.info("deployed %s", line)
        retention.plan_daily(settings.retention_days)
        app = create_app({"mongodb_uri": settings.mongodb_uri})
        # Without Redis, timers and async steps run in a thread of this process.
        worker = None if settings.redis_url else EmbeddedWorker()
        if worker is not None:
            worker.start()
        keeper = monitor.HeldInstancesKeeper()  # timelines never wait for a full read
        keeper.start()
        server = create_server(
            app, host=host or settings.host, port=port or settings.port, threads=8
        )
        # Ctrl-C and `kill` both end the server loop, then the context managers stop the
        # embedded database cleanly (SIGINT may arrive ignored from a background shell).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _exit_on_signal)
        url = f"http://{host or settings.host}:{port or settings.port}"
        log.info(
            "serving on %s (database %s); Ctrl-C stops",
            url,
            "embedded" if not Settings.from_env().mongodb_uri else "MONGODB_URI",
        )
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            log.info("stopping")
            keeper.stop()
            if worker is not None:
                worker.stop()


def _exit_on_signal(signum: int, frame: object) -> NoReturn:
    raise SystemExit(0)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--by", default="system", help="Who deploys (recorded with the version).")
@_guard
def deploy(files: tuple[str, ...], by: str) -> None:
    """Deploy BPMN/DMN files as new versions (identical content keeps its version)."""
    for name in files:
        path = Path(name)
        if not path.is_file():
            fail(f"{name}: no such file")
    with _connected() as settings:
        for name in files:
            path = Path(name)
            for d in definitions.deploy(
                path.read_bytes(), path.name, by, max_bytes=settings.max_bpmn_bytes
            ):
                click.echo(f"{d.key} v{d.version}")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("name")
@click.option("--password", "-p", help="Password (at least 8 characters).")
@click.option("--group", "-g", "groups", multiple=True, help="Group to join (repeatable).")
@click.option("--admin", is_flag=True, help="May see and act on everything.")
@click.option("--machine", is_flag=True, help="An API client without a password.")
@click.option("--full-name", default="", help="Display name.")
@click.option("--email", default="", help="E-mail address.")
@_guard
def user_add(
    name: str,
    password: str | None,
    groups: tuple[str, ...],
    admin: bool,
    machine: bool,
    full_name: str,
    email: str,
) -> None:
    """Create a user."""
    if not password and not machine:
        fail("--password is required (or --machine for an API client)")
    with _connected():
        created = accounts.create_user(
            name,
            password,
            list(groups),
            is_admin=admin,
            full_name=full_name,
            email=email,
            is_machine=machine,
        )
        click.echo(
            f"user {created.username} created"
            + (f" in {', '.join(created.groups)}" if created.groups else "")
        )


@main.command()
@click.argument("name")
@click.option(
    "--ttl", default=0, type=int, help="Seconds until it expires (default: valid until revoked)."
)
@click.option("--label", default="cli", help="What the token is for.")
@_guard
def token(name: str, ttl: int, label: str) -> None:
    """Print a new bearer token for user NAME."""
    if ttl < 0:
        fail("--ttl must be positive")
    with _connected():
        value, _ = accounts.issue_token(name, ttl or None, name=label)
        click.echo(value)


@main.command()
@_guard
def demo() -> None:
    """Load demo users and start a few procedures to look at."""
    with _connected() as settings:
        for line in load_demo(settings):
            click.echo(line)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_guard
def backup(file: str) -> None:
    """Write every collection and stored file to FILE (one consistent point in time)."""
    with _connected():
        done = backups.backup(get_db(), Path(file))
        click.echo(
            f"{done.documents} documents in {done.collections} collections written to {file}"
            + ("" if done.consistent else " (NOT a consistent snapshot: no transactions)")
        )


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace the data of a non-empty database.")
@_guard
def restore(file: str, force: bool) -> None:
    """Load a backup FILE into the database (CRM_DB_NAME); refuses a non-empty one."""
    with _connected():
        done = backups.restore(get_db(), Path(file), force=force)
        definitions.forget_cached()
        click.echo(f"{done.documents} documents in {done.collections} collections restored")


@main.group()
def keys() -> None:
    """Manage users' signing keys and certificates."""


@keys.command("issue")
@click.argument("name")
@click.option(
    "--algorithm",
    type=click.Choice(signatures.ALGORITHMS),
    default="ec-p256",
    help="Key type (default ec-p256).",
)
@click.option(
    "--days", default=signatures.DEFAULT_VALID_DAYS, type=int, help="Days the certificate is valid."
)
@_guard
def keys_issue(name: str, algorithm: str, days: int) -> None:
    """Issue user NAME a key pair and certificate (the previous key is revoked)."""
    with _connected() as settings:
        user_record = accounts.get_user(name)
        key = signatures.issue_key(
            user_record.username,
            settings.resolved_secret_key(),
            algorithm,
            user_record.full_name,
            days,
        )
        click.echo(
            f"{key.username} {key.algorithm} {key.fingerprint} valid until {key.not_after:%Y-%m-%d}"
        )


@keys.command("list")
@click.argument("name", required=False)
@_guard
def keys_list(name: str | None) -> None:
    """List signing keys (of user NAME, or everyone's)."""
    with _connected():
        for key in signatures.list_keys(name):
            click.echo(
                f"{key.username} {key.status} {key.algorithm} {key.fingerprint} "
                f"{key.not_after:%Y-%m-%d}"
            )


@keys.command("revoke")
@click.argument("name")
@_guard
def keys_revoke(name: str) -> None:
    """Revoke user NAME's active key (signatures made with it stay verifiable)."""
    with _connected():
        if not signatures.revoke_keys(name):
            fail(f"{name} has no active key")
        click.echo(f"revoked the active key of {name}")


@keys.command("certificate")
@click.argument("name")
@_guard
def keys_certificate(name: str) -> None:
    """Print user NAME's active certificate (PEM)."""
    with _connected():
        click.echo(signatures.certificate_pem(signatures.active_key(name)).decode(), nl=False)


if __name__ == "__main__":
    main()
