"""Start and stop the embedded database (SecantusDB) as a separate process.

SecantusDB is GPL-licensed: we only ever run its `secantusd-py` executable, installed by
`make` from requirements/embedded.txt, and talk to it over the MongoDB wire protocol.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pymongo


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be started."""


def _executable() -> str:
    beside_python = Path(sys.executable).parent / "secantusd-py"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("secantusd-py")
    if not found:
        raise EmbeddedDatabaseError(
            "secantusd-py not found: install it with "
            "`pip install -r requirements/embedded.txt` or set MONGODB_URI"
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


MIN_CACHE_MB = 32  # with 8M the server stopped answering after its first write


def _checked_cache_size(size: str) -> str:
    """A WiredTiger cache size such as "256M" or "1G" ("" keeps the server's 1G)."""
    normal = size.strip().upper()
    found = re.fullmatch(r"(\d+)([MG])", normal)
    megabytes = int(found[1]) * (1024 if found[2] == "G" else 1) if found else 0
    if normal and megabytes < MIN_CACHE_MB:
        raise EmbeddedDatabaseError(
            f"CRM_EMBEDDED_DB_CACHE={size!r}: give a size like 256M or 1G, at least {MIN_CACHE_MB}M"
        )
    return normal


OPLOG_SECONDS = 120
OPLOG_ENTRIES = 10_000


class EmbeddedDatabase:
    """One SecantusDB server process on 127.0.0.1; `storage` is a directory or ':memory:'."""

    def __init__(
        self,
        storage: str | Path,
        port: int | None = None,
        log_path: Path | None = None,
        cache_size: str = "",
    ):
        self.storage = str(storage)
        self.port = port or free_port()
        self.log_path = log_path
        self.cache_size = _checked_cache_size(cache_size)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def uri(self) -> str:
        # No retryable writes: with one local server there is no failover to retry across,
        # its record of them is lost on a restart anyway, and keeping it costs every write
        # (the server prunes up to 10,000 records on each one; docs/performance.md).
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def answers(self) -> bool:
        """Whether a database already answers on this port (another command started it)."""
        if not _port_in_use(self.port):
            return False
        client: pymongo.MongoClient = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=500)
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()

    def start(self, timeout: float = 30.0) -> EmbeddedDatabase:
        """Start the server and wait until it answers a ping."""
        if _port_in_use(self.port):
            raise EmbeddedDatabaseError(
                f"port {self.port} is already in use; is another `crm serve` running? "
                "Set CRM_EMBEDDED_DB_PORT to another port."
            )
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        argv = [
            _executable(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            self.storage,
            "--log-level",
            "WARNING",
            # Nothing here reads the oplog (no change streams; retryable writes are off), and
            # the server keeps an hour or 100,000 entries of it by default, which its memory
            # follows: a 10-minute soak grew it by 67% (docs/reliability.md, Soak).
            "--oplog-retention-seconds",
            str(OPLOG_SECONDS),
            "--oplog-max-entries",
            str(OPLOG_ENTRIES),
        ]
        if self.cache_size:
            argv += ["--cache-size", self.cache_size]
        # A process group of its own: Ctrl-C in the terminal reaches us, and we stop it
        # cleanly afterwards instead of having it die mid-write.
        self.process = subprocess.Popen(
            argv,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=os.environ.copy(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedDatabaseError(
                    f"secantusd-py exited with code {self.process.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            client: pymongo.MongoClient = pymongo.MongoClient(
                self.uri, serverSelectionTimeoutMS=300
            )
            try:
                client.admin.command("ping")
                return self
            except pymongo.errors.PyMongoError:
                time.sleep(0.1)
            finally:
                client.close()
        self.stop()
        raise EmbeddedDatabaseError(f"secantusd-py did not answer within {timeout:.0f} s")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server: SIGTERM (a clean checkpoint), SIGKILL only if it hangs."""
        proc, self.process = self.process, None
        try:
            if proc is None or proc.poll() is not None:
                return
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        finally:
            self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Kill the server abruptly (for fault tests)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self._close_log()

    def __enter__(self) -> EmbeddedDatabase:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
