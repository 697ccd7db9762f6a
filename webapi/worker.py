"""Celery on Redis: beat wakes the dispatcher every second, workers run durable jobs.

    celery -A webapi.worker:celery_app worker    # runs jobs
    celery -A webapi.worker:celery_app beat      # wakes the dispatcher

Jobs live in the database (engine/jobs.py); a Celery message only says "run job X now".
A lost message or a killed worker loses nothing: the dispatcher queues the job again once
its lease or its dispatch mark expires.
"""

from __future__ import annotations

import os

from celery import Celery

from accounts import operators as account_operators
from engine import background, jobs, retention
from registry import operators as registry_operators
from reports import service as report_jobs
from sales import campaigns as sales_campaigns

from . import database, documents_setup, mail_setup
from .config import Settings

DISPATCH_EVERY_SECONDS = 1.0
# Importing these registers the job handlers and the operators (and subject types) that
# instances advanced by a job may call.
__all__ = [
    "account_operators",
    "background",
    "celery_app",
    "create_celery",
    "registry_operators",
    "report_jobs",
    "sales_campaigns",
]
_connected_pid: int | None = None


def _ensure_database() -> None:
    # pymongo clients must not cross a fork: each worker process connects for itself.
    global _connected_pid
    if _connected_pid != os.getpid():
        settings = Settings.from_env()
        database.connect(settings.mongodb_uri, settings.db_name)
        retention.plan_daily(settings.retention_days)
        _connected_pid = os.getpid()


def create_celery(settings: Settings) -> Celery:
    """A Celery app for these settings (broker = REDIS_URL)."""
    app = Celery("crm", broker=settings.redis_url or "redis://127.0.0.1:6379/0")
    mail_setup.configure(settings)  # the mail.email jobs need the SMTP server
    documents_setup.configure(settings)  # `sign` needs the secret
    lease = settings.job_lease_seconds
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A job must end before its lease does, or another worker starts it again.
        task_time_limit=lease,
        task_soft_time_limit=max(1, lease - 5),
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        beat_schedule={"dispatch": {"task": "crm.dispatch", "schedule": DISPATCH_EVERY_SECONDS}},
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
    )

    @app.task(name="crm.dispatch")
    def dispatch() -> int:
        """Queue every due job once (until its lease would have run out)."""
        _ensure_database()
        ids = jobs.due_job_ids(limit=500, for_dispatch=True)
        if ids:
            jobs.mark_dispatched(ids, lease)
            for job_id in ids:
                run_job.delay(str(job_id))
        return len(ids)

    @app.task(name="crm.run_job")
    def run_job(job_id: str) -> str:
        """Claim and run one job."""
        _ensure_database()
        outcome = jobs.run_one(job_id, jobs.worker_name(), lease)
        return outcome.status if outcome else "skipped"

    return app


celery_app = create_celery(Settings.from_env())
