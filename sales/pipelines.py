"""Pipelines: ordered stages with a default probability, a kind, an optional procedure.

Every signed-in user reads pipelines; admins and members of `sales_admins` change them.
"""

from __future__ import annotations

import re
from typing import Any

from engine.actor import Actor
from registry.common import (
    FieldErrors,
    check_length,
    ensure_active,
    object_id,
    save_changed,
    stamp_created,
    text,
)
from registry.errors import DuplicateObject, RegistryForbidden

from .errors import PipelineInUse, PipelineNotFound
from .models import STAGE_KINDS, Deal, Pipeline, Stage

EDITORS = "sales_admins"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def may_edit(actor: Actor) -> bool:
    """Whether the actor may create and change pipelines."""
    return actor.is_admin or EDITORS in actor.groups


def _ensure_editor(actor: Actor) -> None:
    if not may_edit(actor):
        raise RegistryForbidden(f"only admins and {EDITORS} change pipelines")


def _probability(value: Any, field: str, errors: FieldErrors) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        errors.add(field, "a whole percent from 0 to 100")
        return 0
    return value


def clean_stages(raw: Any, errors: FieldErrors) -> list[Stage]:
    """Stages from input, checked: unique keys, at least one open, one won and one lost."""
    if not isinstance(raw, list) or not raw:
        errors.add("stages", "at least one stage")
        return []
    if len(raw) > 30:
        errors.add("stages", "at most 30 stages")
        return []
    stages: list[Stage] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.add(f"stages.{i}", "must be an object")
            continue
        key, name = text(item.get("key")), text(item.get("name"))
        if not _KEY.match(key):
            errors.add(f"stages.{i}.key", "lowercase letters, digits and _, from a letter")
        if not name:
            errors.add(f"stages.{i}.name", "is required")
        check_length(errors, f"stages.{i}.name", name, 200)
        kind = text(item.get("kind")) or "open"
        if kind not in STAGE_KINDS:
            errors.add(f"stages.{i}.kind", f"one of: {', '.join(STAGE_KINDS)}")
        default = {"won": 100, "lost": 0}.get(kind, 0)
        probability = item.get("probability", default)
        probability = _probability(probability, f"stages.{i}.probability", errors)
        order = item.get("order", i)
        if isinstance(order, bool) or not isinstance(order, int):
            errors.add(f"stages.{i}.order", "a whole number")
            order = i
        process_key = text(item.get("process_key")) or None
        if process_key is not None and len(process_key) > 200:
            errors.add(f"stages.{i}.process_key", "at most 200 characters")
        stages.append(
            Stage(
                key=key,
                name=name,
                order=order,
                probability=probability,
                kind=kind,
                process_key=process_key,
            )
        )
    keys = [s.key for s in stages]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            errors.add(f"stages.{i}.key", "repeats another stage's key")
    kinds = {s.kind for s in stages}
    for kind in STAGE_KINDS:
        if kind not in kinds:
            errors.add("stages", f"needs a stage of kind {kind}")
    return stages


def create(actor: Actor, values: dict[str, Any]) -> Pipeline:
    """Make a pipeline (admins and sales_admins)."""
    _ensure_editor(actor)
    errors = FieldErrors()
    key, name = text(values.get("key")), text(values.get("name"))
    if not _KEY.match(key):
        errors.add("key", "lowercase letters, digits and _, from a letter")
    if not name:
        errors.add("name", "is required")
    check_length(errors, "name", name, 200)
    stages = clean_stages(values.get("stages"), errors)
    errors.raise_if_any("the pipeline has invalid fields")
    if Pipeline.objects(key=key).first() is not None:
        raise DuplicateObject(f"a pipeline {key} exists", {"key": ["is taken"]})
    pipeline = Pipeline(key=key, name=name, stages=stages)
    stamp_created(pipeline, actor)
    pipeline.save(force_insert=True)
    return pipeline


def get(actor: Actor, pipeline_id: Any) -> Pipeline:
    """A pipeline by id or by key."""
    value = text(pipeline_id)
    found = Pipeline.objects(key=value).first() if _KEY.match(value) else None
    if found is None and not _KEY.match(value):
        found = Pipeline.objects(id=object_id(value, PipelineNotFound, "pipeline")).first()
    if found is None:
        raise PipelineNotFound(f"no pipeline {pipeline_id}")
    return found


def find(actor: Actor, archived: bool = False) -> list[Pipeline]:
    """Every pipeline, by name."""
    return list(Pipeline.objects(archived=archived).order_by("name").limit(200))


def update(
    actor: Actor, pipeline_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Pipeline:
    """Rename a pipeline or replace its stages (a stage deals stand in must stay)."""
    _ensure_editor(actor)
    pipeline = get(actor, pipeline_id)
    ensure_active(pipeline, "pipeline")
    errors = FieldErrors()
    if "name" in changes:
        name = text(changes["name"])
        if not name:
            errors.add("name", "is required")
        check_length(errors, "name", name, 200)
        pipeline.name = name
    if "stages" in changes:
        stages = clean_stages(changes["stages"], errors)
        errors.raise_if_any("the pipeline has invalid fields")
        kept = {s.key for s in stages}
        used = Deal._get_collection().distinct("stage", {"pipeline": pipeline.id})
        missing = sorted(set(used) - kept)
        if missing:
            raise PipelineInUse(f"deals stand in stages {', '.join(missing)}", {"stages": missing})
        pipeline.stages = stages
    errors.raise_if_any("the pipeline has invalid fields")
    save_changed(pipeline, actor, expected_version)
    return pipeline
