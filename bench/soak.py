"""Soak: mixed load against the served app and its worker for a while (`make soak`).

Starts, each in its own process, on a throw-away data directory: the embedded database
(SecantusDB), `redis-server`, `crm serve` (waitress, 8 threads), a Celery worker and
Celery beat (when `redis-server` is missing, `crm serve` runs its in-process worker
instead). Then CLIENTS threads loop over a mix of what people and systems do: create and
search organizations, start `incoming_call` (with an Idempotency-Key) and complete its
task, send a message (notifications for the worker), read the mailbox over the API, open
UI pages with a session, and ask for a background report (a job for the worker).

Reported (stdout and bench/results/soak.json): requests and errors by operation with
latency percentiles; each process's resident memory (RSS, with its children) after the
warm-up and at the end; the job backlog (due jobs not done) sampled every 10 s.
Verdict: no error, the RSS of each of our processes (web, worker, beat, Redis) within 10%
of its post-warm-up value, the database's growth no more than its data explains (a bare
server's cost per KB stored, `bench/db_memory.py`: it keeps what it stores in memory, and
is flat under updates, deletes and reads), a backlog that does not grow. The warm-up (a
quarter of the run, 60 to 120 s; 30% of a run shorter than 3 min) is excluded from the
memory baseline: modules load and caches and pools fill there.

    CRM_SOAK_SECONDS=600 (default) CRM_SOAK_CLIENTS=4 python -m bench.soak
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pymongo

from accounts import service as accounts
from webapi import database as webdb
from webapi.config import Settings
from webapi.embedded_db import EmbeddedDatabase, free_port

from .harness import rss_kb

ROOT = Path(__file__).resolve().parent.parent

SECONDS = float(os.environ.get("CRM_SOAK_SECONDS", "600"))
CLIENTS = int(os.environ.get("CRM_SOAK_CLIENTS", "4"))
RESULTS = ROOT / "bench" / "results" / "soak.json"
DB_NAME = "soak"
RSS_TOLERANCE = 0.10
# RSS the database may gain per KB of data and indexes it gained. A bare SecantusDB server
# keeps ~4.4 KB per KB stored (`python -m bench db_memory`: 1.9 KB per 250-byte document
# with six indexes) and nothing once warm per update, read or session; the soak's own runs
# gained 5.6–7.6 KB per KB (larger documents, more indexes). A leak would show above 10.
DATABASE_RSS_PER_DATA = 10
BIN = Path(sys.executable).parent


class Client:
    """One simulated user: an API token and a UI session."""

    def __init__(self, base: str, token: str, username: str, password: str) -> None:
        self.base, self.token = base, token
        self.username, self.password = username, password
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def page(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def sign_in(self) -> None:
        status, html = self.page("/ui/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert status == 200 and token, "no login page"
        status, _ = self.page(
            "/ui/login",
            {"username": self.username, "password": self.password, "csrf_token": token[1]},
        )
        assert status == 200, f"sign-in answered {status}"  # the redirect was followed


class Load:
    """The mix of operations; each returns (operation, ok, detail)."""

    def __init__(self, client: Client, number: int) -> None:
        self.client, self.number, self.n = client, number, 0
        self.orgs: list[dict[str, Any]] = []

    def create_organization(self) -> tuple[bool, str]:
        self.n += 1
        name = f"Soak {self.number}-{self.n} {uuid.uuid4().hex[:6]}"
        status, body = self.client.call("POST", "/api/v1/organizations", {"name": name})
        if status == 201:
            self.orgs.append({"id": body["id"], "title": name})
            self.orgs = self.orgs[-50:]
        return status == 201, f"{status}"

    def search_organizations(self) -> tuple[bool, str]:
        status, _ = self.client.call("GET", f"/api/v1/organizations?q=Soak%20{self.number}")
        return status == 200, f"{status}"

    def call_and_complete(self) -> tuple[bool, str]:
        if not self.orgs:
            return self.create_organization()
        org = random.choice(self.orgs)
        status, body = self.client.call(
            "POST",
            "/api/v1/instances",
            {
                "process_key": "incoming_call",
                "subject": {"type": "organization", "id": org["id"], "title": org["title"]},
            },
            {"Idempotency-Key": uuid.uuid4().hex},
        )
        if status != 201:
            return False, f"start {status} {body}"
        status, body = self.client.call("GET", f"/api/v1/instances/{body['id']}")
        tasks = [t for t in (body or {}).get("tasks") or [] if t.get("status", "open") == "open"]
        if status != 200 or not tasks:
            return False, f"instance {status}: no open task"
        task = tasks[0]
        status, body = self.client.call(
            "POST",
            f"/api/v1/tasks/{task.get('guid') or task.get('id')}/complete",
            {"data": {"subject": "Счёт", "result": "Оплатят", "follow_up": False}},
        )
        return status == 200, f"complete {status} {body}"

    def send_message(self) -> tuple[bool, str]:
        status, _ = self.client.call(
            "POST",
            "/api/v1/mail/messages",
            {"to_users": ["soak1", "soak2"], "subject": "Отчёт", "body": "<p>Готово</p>"},
        )
        return status == 201, f"{status}"

    def read_mailbox(self) -> tuple[bool, str]:
        status, _ = self.client.call("GET", "/api/v1/mailbox")
        return status == 200, f"{status}"

    def open_pages(self) -> tuple[bool, str]:
        for path in ("/ui/mailbox", "/ui/organizations", "/ui/mail"):
            status, _ = self.client.page(path)
            if status != 200:
                return False, f"{path} {status}"
        return True, "200"

    def background_report(self) -> tuple[bool, str]:
        status, _ = self.client.call(
            "POST", "/api/v1/reports/runs", {"source": "actions", "background": True}
        )
        return status in (200, 201, 202), f"{status}"

    MIX = (
        ("create_organization", 3),
        ("search_organizations", 3),
        ("call_and_complete", 3),
        ("send_message", 2),
        ("read_mailbox", 3),
        ("open_pages", 2),
        ("background_report", 0.3),  # an office asks for a report now and then
    )

    def pick(self) -> str:
        names = [name for name, _ in self.MIX]
        return random.choices(names, weights=[w for _, w in self.MIX])[0]


def backlog(db: Any) -> dict[str, int]:
    """Jobs due and not finished, by kind."""
    due = {"status": {"$in": ["pending", "running"]}, "due_at": {"$lte": datetime.now(UTC)}}
    kinds: dict[str, int] = defaultdict(int)
    for job in db.jobs.find(due, {"kind": 1}):
        kinds[job["kind"]] += 1
    return dict(kinds)


def say(text: str) -> None:
    print(f"soak: {text}", file=sys.stderr, flush=True)


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    say(f"starting {Path(argv[0]).name} {' '.join(argv[1:3])} (log {log})")
    with open(log, "ab") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {seconds:.0f} s")


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(1)  # so the `finally` below stops every process it started


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    work = Path(tempfile.mkdtemp(prefix="crm-soak-"))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    database = EmbeddedDatabase(
        work / "db",
        log_path=work / "secantusd.log",
        cache_size=Settings.from_env().embedded_db_cache,
    ).start()
    env = {
        **os.environ,
        "MONGODB_URI": database.uri,
        "CRM_DB_NAME": DB_NAME,
        "CRM_DATA_DIR": str(work / "data"),
        "CRM_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "CRM_PORT": str(free_port()),
        "PYTHONPATH": str(ROOT),
    }
    redis = shutil.which("redis-server")
    try:
        if redis:
            redis_port = free_port()
            processes["redis"] = start(
                [redis, "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                env,
                work / "redis.log",
            )
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        base = f"http://127.0.0.1:{env['CRM_PORT']}"
        crm = str(BIN / "crm")
        processes["web"] = start([crm, "serve"], env, work / "web.log")
        wait_for(f"{base}/api/v1/health")
        if redis:
            celery = [str(BIN / "celery"), "-A", "webapi.worker:celery_app"]
            processes["worker"] = start(
                [*celery, "worker", "--pool=solo", "--loglevel=WARNING"], env, work / "worker.log"
            )
            processes["beat"] = start(
                [*celery, "beat", "--loglevel=WARNING", "-s", str(work / "beat-schedule")],
                env,
                work / "beat.log",
            )
        tokens = []
        say(f"serving on {base}; adding {CLIENTS} users")
        # In this process: a `crm user add` is a fresh interpreter and ~20 s here.
        webdb.connect(database.uri, DB_NAME)
        for i in range(1, CLIENTS + 1):
            name = f"soak{i}"
            accounts.create_user(name, f"{name}-password", ["sales"])
            tokens.append((name, accounts.issue_token(name, None)[0]))
        pids = {"database": database.process.pid if database.process else 0}
        pids.update({name: proc.pid for name, proc in processes.items()})
        db: Any = pymongo.MongoClient(database.uri)[DB_NAME]
        say(f"load for {SECONDS:.0f} s from {CLIENTS} clients; data in {work}")
        return run(base, tokens, pids, db)
    finally:
        for proc in reversed(list(processes.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        database.stop()
        if not os.environ.get("CRM_SOAK_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


def run(base: str, tokens: list[tuple[str, str]], pids: dict[str, int], db: Any) -> int:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()
    stop = threading.Event()

    def loop(number: int, name: str, token: str) -> None:
        client = Client(base, token, name, f"{name}-password")
        client.sign_in()
        load = Load(client, number)
        while not stop.is_set():
            operation = load.pick()
            started = time.perf_counter()
            try:
                ok, detail = getattr(load, operation)()
            except Exception as exc:  # a dropped connection counts as an error, not a crash
                ok, detail = False, repr(exc)
            with lock:
                latencies[operation].append(time.perf_counter() - started)
                if not ok:
                    errors[operation].append(detail[:300])

    threads = [
        threading.Thread(target=loop, args=(i, name, token), daemon=True)
        for i, (name, token) in enumerate(tokens, 1)
    ]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    # Processes import lazily and fill caches and pools at first: the Celery worker and beat
    # grew for ~80 s here, then stayed flat. A quarter of the run, 60 to 120 s.
    warmup = min(120.0, max(60.0, SECONDS * 0.25)) if SECONDS >= 180 else SECONDS * 0.3
    rss_start: dict[str, int] = {}
    samples: list[dict[str, Any]] = []
    while time.monotonic() - began < SECONDS:
        time.sleep(min(10.0, max(0.0, SECONDS - (time.monotonic() - began))))
        elapsed = time.monotonic() - began
        rss = {name: rss_kb(pid) for name, pid in pids.items()}
        with lock:
            done = sum(len(v) for v in latencies.values())
        waiting = backlog(db)
        stats = db.command("dbStats")
        sample = {
            "t": round(elapsed),
            "requests": done,
            "backlog": sum(waiting.values()),
            "backlog_by_kind": waiting,
            "rss_kb": rss,
            # The database's memory follows its data (its cache); this shows how much.
            "data_kb": int(stats.get("dataSize", 0) + stats.get("indexSize", 0)) // 1024,
            "documents": int(stats.get("objects", 0)),
        }
        samples.append(sample)
        print(json.dumps(sample), flush=True)
        if not rss_start and elapsed >= warmup:
            rss_start = rss
    stop.set()
    for thread in threads:
        thread.join(90)
    rss_end = samples[-1]["rss_kb"]
    rss_start = rss_start or samples[0]["rss_kb"]
    growth = {
        name: round((rss_end[name] - rss_start[name]) / max(rss_start[name], 1), 3) for name in pids
    }
    backlogs = [s["backlog"] for s in samples]
    half = max(1, len(backlogs) // 2)
    operations = {
        name: {
            "count": len(values),
            "errors": len(errors.get(name, [])),
            "p50_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(sorted(values)[int(len(values) * 0.95) - 1] * 1000, 1),
        }
        for name, values in sorted(latencies.items())
    }
    error_count = sum(len(v) for v in errors.values())
    data_start = next(x["data_kb"] for x in samples if x["rss_kb"] is rss_start)
    data_grown_kb = max(samples[-1]["data_kb"] - data_start, 1)
    database_grown_kb = rss_end["database"] - rss_start["database"]
    verdict = {
        "no_errors": error_count == 0,
        "rss_flat_within_10pct": all(
            abs(g) <= RSS_TOLERANCE for name, g in growth.items() if name != "database"
        ),
        # The database keeps what it stores in memory (its cache and, for a Python server,
        # the heap it grew reading it): judged per KB of data it gained, not per cent.
        "database_rss_follows_its_data": database_grown_kb
        <= RSS_TOLERANCE * rss_start["database"] + DATABASE_RSS_PER_DATA * data_grown_kb,
        # Not growing: the second half's peak is no higher than the first half's (or small).
        "backlog_not_growing": max(backlogs[half:]) <= max(max(backlogs[:half]), 10),
    }
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": SECONDS,
        "clients": CLIENTS,
        "requests": sum(len(v) for v in latencies.values()),
        "requests_per_s": round(sum(len(v) for v in latencies.values()) / SECONDS, 1),
        "errors": error_count,
        "error_samples": {k: v[:5] for k, v in errors.items()},
        "operations": operations,
        "rss_kb_after_warmup": rss_start,
        "rss_kb_end": rss_end,
        "rss_growth": growth,
        "data_kb_after_warmup_and_end": [data_start, samples[-1]["data_kb"]],
        "database_rss_kb_per_data_kb": round(database_grown_kb / data_grown_kb, 2),
        "backlog_max": max(backlogs),
        "backlog_end": backlogs[-1],
        "verdict": verdict,
        "samples": samples,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
