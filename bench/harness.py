"""What every scenario needs: a fresh embedded database, round-trip counting, timing."""

from __future__ import annotations

import copy
import json
import os
import platform
import re
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import monitoring

from webapi import database
from webapi.embedded_db import EmbeddedDatabase

RESULTS = Path(__file__).parent / "results"


class RoundTrips(monitoring.CommandListener):
    """Counts commands sent to the database and the time spent waiting for them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.by_command: dict[str, int] = {}
        self.recorded: list[dict[str, Any]] | None = None  # the commands themselves, when set
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._lock:
            self.count += 1
            if self.recorded is not None:
                self.recorded.append(copy.deepcopy(dict(event.command)))
            name = f"{event.command_name} {event.command.get(event.command_name, '')}"
            self.by_command[name] = self.by_command.get(name, 0) + 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        with self._lock:
            self.seconds += event.duration_micros / 1e6

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        with self._lock:
            self.seconds += event.duration_micros / 1e6

    def reset(self) -> None:
        with self._lock:
            self.count, self.seconds, self.by_command = 0, 0.0, {}


ROUND_TRIPS = RoundTrips()
monitoring.register(ROUND_TRIPS)


class ServerCpu:
    """CPU seconds used by the embedded database process of the running scenario."""

    pid: int | None = None

    @classmethod
    def seconds(cls) -> float:
        if cls.pid is None:
            return 0.0
        try:
            fields = Path(f"/proc/{cls.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # not Linux, or the process is gone
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KB (0 once it is gone)."""
    total = 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+)", status)
        total += int(found.group(1)) if found else 0
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(rss_kb(int(child)) for child in children)


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """An empty embedded database process for one scenario; yields its URI."""
    server = EmbeddedDatabase(":memory:").start()
    ServerCpu.pid = server.process.pid if server.process else None
    try:
        database.connect(server.uri, f"bench_{name}")
        yield server.uri
    finally:
        database.disconnect()
        server.stop()
        ServerCpu.pid = None


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of samples, in milliseconds."""
    if not samples:
        return {}
    ordered = sorted(samples)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000

    return {
        "p50_ms": at(0.5),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@dataclass
class Result:
    """One scenario's figures, printed and saved."""

    scenario: str
    figures: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)

    def save(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        body = {
            "scenario": self.scenario,
            "when": datetime.now(UTC).isoformat(),
            "machine": _machine(),
            "commit": _commit(),
            "figures": self.figures,
            "targets": self.targets,
        }
        (RESULTS / f"{self.scenario}.json").write_text(json.dumps(body, indent=2, default=str))

    def show(self) -> None:
        print(f"\n== {self.scenario}")
        for key, value in self.figures.items():
            shown = f"{value:.2f}" if isinstance(value, float) else value
            target = self.targets.get(key)
            print(f"  {key:<44} {shown}" + (f"   (target {target})" if target else ""))


def _machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def _commit() -> str:
    try:
        return subprocess.run(
            ["/usr/bin/git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
