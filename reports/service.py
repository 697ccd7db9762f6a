"""Running reports: synchronously, or as a durable background job with progress.

Every run is a `ReportRun`; its file goes to the records office's file storage (GridFS),
readable by the requester only, and is downloaded through the run. A background run is a
job of kind `report_render` (engine/jobs.py): the embedded worker thread or a Celery worker
runs it, and the run's `progress` moves 5 → 40 (queried) → 90 (rendered) → 100 (stored).
The job carries the requester's name and groups, so the query applies their access rule.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from bson import ObjectId

from accounts.access import make_access
from documents import files
from engine import jobs
from engine.actor import Actor
from engine.errors import InvalidInput
from engine.models import utcnow

from . import render, templates
from .errors import ReportInvalid, ReportNotReady, ReportRunNotFound
from .models import OUTPUT_FORMATS, ReportRun
from .sources import clean_params, estimated_size, get_source

JOB_KIND = "report_render"
MAX_OUTPUT_BYTES = 200 * 1024 * 1024
# A source over a collection larger than this renders in the background unless told.
BACKGROUND_FROM_DOCUMENTS = 20_000


def _actor_of(run: ReportRun) -> Actor:
    return Actor(run.requested_by, frozenset(run.requested_groups), run.requested_admin)


def _filename(title: str, fmt: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", title, flags=re.UNICODE).strip("_") or "report"
    return f"{stem[:80]}_{utcnow():%Y%m%d_%H%M}.{fmt}"


def start(
    actor: Actor,
    source: str = "",
    *,
    template_id: str | None = None,
    params: dict[str, Any] | None = None,
    fmt: str = "",
    background: bool | None = False,
) -> ReportRun:
    """Check the request and run it now, or queue it; return the run.

    `background=None` decides by size: a source that may scan more than
    BACKGROUND_FROM_DOCUMENTS documents is queued, anything smaller renders now.
    """
    values = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    if template_id:
        template = templates.get_template(template_id)
        source = template.source
        values = {**{k: v for k, v in template.params.items() if v not in (None, "")}, **values}
        fmt = fmt or template.format
        if fmt != template.format:
            raise ReportInvalid(
                f"a {template.format.upper()} template renders to {template.format} only",
                {"format": [template.format]},
            )
    fmt = fmt or "xlsx"
    if fmt not in OUTPUT_FORMATS:
        raise ReportInvalid("unknown output format", {"format": list(OUTPUT_FORMATS)})
    clean_params(get_source(source), values)  # a bad parameter is a 422 now, not a failed job
    if background is None:
        background = estimated_size(source) > BACKGROUND_FROM_DOCUMENTS
    run = ReportRun(
        source=source,
        template_id=ObjectId(str(template_id)) if template_id else None,
        params={k: str(v) for k, v in values.items()},
        format=fmt,
        background=background,
        requested_by=actor.username,
        requested_groups=sorted(actor.groups),
        requested_admin=actor.is_admin,
        created_at=utcnow(),
    )
    run.save(force_insert=True)
    if background:
        jobs.enqueue(JOB_KIND, f"report:{run.id}", payload={"run_id": str(run.id)})
        return run
    execute(run)
    run.reload()
    return run


def _progress(run_id: ObjectId, value: int) -> None:
    ReportRun._get_collection().update_one(
        {"_id": run_id, "progress": {"$lt": value}}, {"$set": {"progress": value}}
    )


def execute(run: ReportRun) -> None:
    """Query, render and store one run, recording progress; a bad template fails the run."""
    coll = ReportRun._get_collection()
    coll.update_one(
        {"_id": run.id},
        {"$set": {"status": "running", "started_at": utcnow(), "progress": 5, "error": ""}},
    )
    actor = _actor_of(run)
    try:
        source = get_source(run.source)
        data = source.query(actor, clean_params(source, dict(run.params)))
        _progress(run.id, 40)

        def step(share: int) -> None:
            _progress(run.id, 40 + share // 2)

        if run.template_id:
            content = templates.render_template(templates.get_template(run.template_id), data)
        else:
            content = render.render(data, run.format, step)
        _progress(run.id, 90)
        filename = _filename(data.title, run.format)
        stored = files.upload(
            actor,
            filename,
            io.BytesIO(content),
            max_bytes=MAX_OUTPUT_BYTES,
            access=make_access(read=[run.requested_by], write=[run.requested_by]),
            comment=f"report {run.source}",
        )
    except InvalidInput as exc:
        # The request was fine when it was made, the data or template is not: no retry helps.
        coll.update_one(
            {"_id": run.id},
            {
                "$set": {
                    "status": "failed",
                    "error": exc.message,
                    "errors": exc.errors,
                    "finished_at": utcnow(),
                }
            },
        )
        if not run.background:
            raise
        return
    except Exception as exc:
        coll.update_one(
            {"_id": run.id},
            {"$set": {"status": "failed", "error": str(exc)[:2000], "finished_at": utcnow()}},
        )
        raise
    coll.update_one(
        {"_id": run.id},
        {
            "$set": {
                "status": "done",
                "progress": 100,
                "file_id": stored.id,
                "filename": filename,
                "size": len(content),
                "rows": len(data.rows),
                "finished_at": utcnow(),
            }
        },
    )


@jobs.handler(JOB_KIND)
def _render_job(job: jobs.Job) -> None:
    run = ReportRun.objects(id=job.payload.get("run_id")).first()
    if run is None or run.status == "done":
        return  # deleted, or a re-run of a job whose work was already stored
    execute(run)


def get_run(actor: Actor, run_id: Any) -> ReportRun:
    """A run the actor requested (admins see every run)."""
    try:
        oid = ObjectId(str(run_id))
    except Exception as exc:  # bson raises InvalidId or TypeError
        raise ReportRunNotFound(f"no report run {run_id}") from exc
    query: dict[str, Any] = {"id": oid}
    if not actor.is_admin:
        query["requested_by"] = actor.username
    found = ReportRun.objects(**query).first()
    if found is None:
        raise ReportRunNotFound(f"no report run {run_id}")
    return found


def list_runs(actor: Actor, limit: int = 50) -> list[ReportRun]:
    """The actor's latest runs."""
    return list(ReportRun.objects(requested_by=actor.username).order_by("-created_at")[:limit])


def open_file(actor: Actor, run_id: Any) -> tuple[Iterator[bytes], str, str, int]:
    """The rendered file of a finished run: (chunks, filename, content type, size)."""
    run = get_run(actor, run_id)
    if run.status != "done" or run.file_id is None:
        raise ReportNotReady(f"the report is {run.status}", {"status": [run.status]})
    _, version, stream = files.open_version(actor, run.file_id)
    return files.iter_content(stream), run.filename, render.FORMATS[run.format], version.size
