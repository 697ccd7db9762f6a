"""Job handlers of the engine, and the embedded worker that runs jobs in-process.

With REDIS_URL set, Celery workers run the same handlers (webapi/worker.py); without it,
`crm serve` starts an `EmbeddedWorker` thread, so one command serves a whole office.
"""

from __future__ import annotations

import logging
import threading

from bson import ObjectId

from . import definitions, instances, jobs, messages, schedules
from .errors import DefinitionNotFound
from .models import utcnow

log = logging.getLogger(__name__)
MESSAGE_TTL_SECONDS = 24 * 3600


@jobs.handler("timer")
def _fire_timer(job: jobs.Job) -> None:
    if instances.fire_timers(job.instance_id) is None:
        # Nothing was due yet (clocks differ a little between machines): come back then.
        doc = instances.get(job.instance_id)
        due = doc.get("next_timer_at")
        if doc["status"] == "active" and due is not None and due > utcnow():
            raise jobs.RetryLater(due)


@jobs.handler("async_service")
def _run_async_service(job: jobs.Job) -> None:
    instances.run_async_task(job.instance_id, job.payload["guid"], job.key)


@jobs.handler("message")
def _route_message(job: jobs.Job) -> None:
    # Kept for a day when no instance waits yet: the receiver may be started later.
    messages.post(
        instances.SYSTEM_ACTOR,
        job.payload["name"],
        job.payload.get("payload") or {},
        job.payload.get("correlation_key"),
        message_id=job.key,
        ttl_seconds=MESSAGE_TTL_SECONDS,
    )


@jobs.handler("timer_start")
def _start_on_timer(job: jobs.Job) -> None:
    try:
        loaded = definitions.load(job.payload["definition_id"])
        if definitions.find(loaded.key).id != ObjectId(loaded.id):
            return  # a newer version was deployed: it keeps its own schedule
    except DefinitionNotFound:
        return
    instances.start(
        loaded.key,
        instances.SYSTEM_ACTOR,
        version=loaded.version,
        instance_id=schedules.instance_id_for(job.payload),
    )
    schedules.next_start(job.payload)


class EmbeddedWorker(threading.Thread):
    """A daemon thread that claims and runs due jobs until stopped."""

    def __init__(self, poll_seconds: float = 0.5, owner: str | None = None):
        super().__init__(name="crm-embedded-worker", daemon=True)
        self.poll_seconds = poll_seconds
        self.owner = owner or f"{jobs.worker_name()}:embedded"
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                instances.repair_pending()
                ran = jobs.run_due(self.owner)
            except Exception:  # the database may be briefly away: keep the thread alive
                log.exception("embedded worker: a round failed")
                ran = 0
            if not ran:
                self._stop_event.wait(self.poll_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its current job and wait for it."""
        self._stop_event.set()
        self.join(timeout)
