"""Deploying BPMN/DMN: safe parse, validate, store an immutable versioned definition."""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bson import ObjectId
from lxml import etree
from mongoengine.errors import NotUniqueError
from pymongo.errors import DuplicateKeyError

from . import deadlines, operators, process_extensions, runtime, schedules, start_rights
from .actor import Actor
from .errors import DefinitionInvalid, DefinitionNotFound
from .forms import parse_form
from .models import ProcessDefinition, utcnow
from .xml import BPMN_NS, DEFAULT_MAX_BYTES, parse_xml

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True)
class LoadedDefinition:
    """An immutable definition with its specs restored, as instances need it."""

    id: str
    key: str
    version: int
    name: str
    specs: runtime.Specs
    forms: dict[str, Any]
    user_tasks: dict[str, Any]


def _kind(root: etree._Element) -> str:
    ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "definitions":
        raise DefinitionInvalid(
            "the root element must be <definitions>", {"file": ["not a BPMN or DMN document"]}
        )
    if ns == BPMN_NS:
        return "bpmn"
    if "DMN" in ns.upper():
        return "dmn"
    raise DefinitionInvalid(f"unknown namespace {ns!r}", {"file": ["not a BPMN or DMN document"]})


def _content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _latest(kind: str, key: str) -> ProcessDefinition | None:
    return ProcessDefinition.objects(kind=kind, key=key).order_by("-version").first()


def _store(
    kind: str, key: str, content: bytes, values: dict[str, Any]
) -> tuple[ProcessDefinition, bool]:
    """Store a new version of `key` (True), or return the latest if its content is identical."""
    digest = _content_hash(content)
    for _ in range(5):  # another deploy may take the same version number first
        latest = _latest(kind, key)
        if latest is not None and latest.source_hash == digest:
            return latest, False
        definition = ProcessDefinition(
            kind=kind,
            key=key,
            source_hash=digest,
            version=(latest.version + 1) if latest else 1,
            source=content.decode("utf-8"),
            **values,
        )
        try:
            definition.save(force_insert=True)
            _latest_ids.pop(key, None)
            return definition, True
        except (NotUniqueError, DuplicateKeyError):
            continue
    raise DefinitionInvalid(f"could not assign a version to {key}: too many concurrent deploys")


def _user_task_meta(
    root: etree._Element, tasks: list[runtime.ParsedTask], errors: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    nodes = {
        n.get("id"): n for n in root.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask")
    }
    forms: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for task in tasks:
        if task.kind == "service" and operators.get(task.operator or "") is None:
            errors.append(
                f"task {task.bpmn_id}: unknown service operator {task.operator!r} "
                f"(known: {', '.join(operators.names()) or 'none'})"
            )
        elif task.kind == "service":
            for problem in operators.check_params(task.operator or "", task.params or {}):
                errors.append(f"task {task.bpmn_id}: {task.operator}: {problem}")
        if task.kind not in ("user", "manual"):
            continue
        if task.lane is not None and not task.lane.strip():
            errors.append(f"task {task.bpmn_id}: its lane has no name, so no group can take it")
        node = nodes.get(task.bpmn_id)
        meta[task.bpmn_id] = {
            "name": task.name,
            "lane": task.lane,
            "kind": task.kind,
            "due": deadlines.read_rule(node, errors, task.bpmn_id),
        }
        form = parse_form(node, errors) if node is not None else None
        if form is not None:
            forms[task.bpmn_id] = form
    return forms, meta


def _check_references(root: etree._Element, errors: list[str]) -> None:
    """Sequence flows must connect elements that exist (the schema does not check it)."""
    counts = Counter(node.get("id") for node in root.iter() if node.get("id"))
    shared: set[str] = set()
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for attr in ("sourceRef", "targetRef"):
            ref = flow.get(attr)
            if ref not in counts:
                errors.append(f"sequence flow {flow.get('id')}: {attr} {ref!r} does not exist")
            elif counts[ref] > 1 and ref not in shared:
                # SpiffWorkflow finds a flow node by the first element with its id; a task
                # named like its operator (id="sign" calling "sign") breaks its parse.
                shared.add(ref)
                errors.append(
                    f"element id {ref!r} is used by {counts[ref]} elements (a task named like "
                    "its operator or a form field?): give the task an id of its own"
                )


def _message_starts(root: etree._Element, process_id: str) -> list[str]:
    messages = {
        m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{BPMN_NS}}}message")
    }
    process = next(
        (p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == process_id), None
    )
    if process is None:
        return []
    names = []
    for start in process.findall(f"{{{BPMN_NS}}}startEvent"):
        for med in start.findall(f"{{{BPMN_NS}}}messageEventDefinition"):
            ref = med.get("messageRef")
            if ref:
                names.append(messages.get(ref, ref))
    return names


def _add_dependencies(parser: Any, root: etree._Element) -> None:
    """Give the parser the latest deployed versions of called processes and decisions."""
    own = {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")}
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    for key in sorted(k for k in called - own if k):
        dep = _latest("bpmn", key)
        if dep is not None:
            runtime.add_bpmn(parser, parse_xml(dep.source.encode()), dep.filename or key)
    decisions = {(n.text or "").strip() for n in root.iter(f"{{{SPIFF_NS}}}calledDecisionId")}
    for key in sorted(k for k in decisions if k):
        dep = _latest("dmn", key)
        if dep is not None:
            runtime.add_dmn(parser, parse_xml(dep.source.encode()), dep.filename or key)


def deploy(
    content: bytes,
    filename: str,
    deployed_by: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    readers: list[str] | None = None,
) -> list[ProcessDefinition]:
    """Deploy a BPMN or DMN file; return one definition per executable process/decision.

    With `readers` the definitions are private: only those principals and admins see them.
    """
    root = parse_xml(content, max_bytes)
    kind = _kind(root)
    if kind == "dmn":
        return _deploy_dmn(root, content, filename, deployed_by)
    errors: list[str] = []
    _check_references(root, errors)
    if errors:
        raise DefinitionInvalid(f"{len(errors)} problem(s) in the diagram", {"diagram": errors})
    parser = runtime.new_parser()
    runtime.add_bpmn(parser, root, filename)
    _add_dependencies(parser, root)
    process_ids = parser.get_process_ids()
    if not process_ids:
        raise DefinitionInvalid(
            "the file has no executable process", {"diagram": ["no <process isExecutable='true'>"]}
        )
    prepared = []
    extras: dict[str, dict[str, Any]] = {}
    for pid in process_ids:
        if not _KEY.match(pid):
            errors.append(f"process id {pid!r} must be a letter followed by letters, digits, _.-")
            continue
        specs = runtime.build_specs(parser, pid)
        runtime.new_workflow_spec_check(specs)
        forms, user_tasks = _user_task_meta(root, runtime.describe_tasks(specs), errors)
        rules = process_extensions.read_rules(root, pid, errors)
        start_rights.check_declared(root, pid, errors)
        extras[pid] = {
            "auto_start": rules,
            "auto_start_types": sorted({r["object_type"] for r in rules}),
            "references": process_extensions.read_references(root, pid, errors),
        }
        prepared.append((pid, specs, forms, user_tasks))
    if errors:
        raise DefinitionInvalid(f"{len(errors)} problem(s) in the diagram", {"diagram": errors})
    result = []
    for pid, specs, forms, user_tasks in prepared:
        values = {
            "name": specs.spec.description or pid,
            "filename": filename,
            "spec": runtime.specs_to_json(specs),
            "forms": forms,
            "user_tasks": user_tasks,
            "message_starts": _message_starts(root, pid),
            "deployed_by": deployed_by,
            "deployed_at": utcnow(),
            **extras[pid],
        }
        if readers is not None:
            values["readers"] = list(readers)
        definition, created = _store("bpmn", pid, content, values)
        process_extensions.forget_rules()
        if created:
            schedules.plan_starts(definition.id, specs, definition.deployed_at)
        result.append(definition)
    return result


def _deploy_dmn(
    root: etree._Element, content: bytes, filename: str, deployed_by: str
) -> list[ProcessDefinition]:
    parser = runtime.new_parser()
    runtime.add_dmn(parser, root, filename)
    ids = runtime.dmn_decision_ids(root)
    if not ids:
        raise DefinitionInvalid("the file has no decision", {"diagram": ["no <decision>"]})
    bad = [i for i in ids if not _KEY.match(i)]
    if bad:
        raise DefinitionInvalid("bad decision ids", {"diagram": [f"bad id {i!r}" for i in bad]})
    return [
        _store(
            "dmn",
            did,
            content,
            {
                "name": did,
                "filename": filename,
                "deployed_by": deployed_by,
                "deployed_at": utcnow(),
            },
        )[0]
        for did in ids
    ]


def visible_to(actor: Actor | None, include_removed: bool = False) -> dict[str, Any]:
    """Flat conditions a definition must meet to be seen by `actor` (None: the system)."""
    condition: dict[str, Any] = {} if include_removed else {"removed_at": None}
    if actor is not None and not actor.is_admin:
        # Absent `readers` matches None: ordinary definitions; private ones list principals.
        condition["readers__in"] = [None, *actor.principals]
    return condition


def find(
    key: str,
    version: int | None = None,
    kind: str = "bpmn",
    *,
    actor: Actor | None = None,
    include_removed: bool = False,
) -> ProcessDefinition:
    """The given version of `key` (the latest when version is None) as `actor` sees it."""
    query = ProcessDefinition.objects(kind=kind, key=key, **visible_to(actor, include_removed))
    found = (
        query.filter(version=version).first()
        if version is not None
        else query.order_by("-version").first()
    )
    if found is None:
        what = f"{key} v{version}" if version is not None else key
        raise DefinitionNotFound(f"no deployed process {what}")
    return found


# Which version is the latest, per key, remembered for a second: a start then costs no
# lookup. A deploy in this process forgets it at once; other processes see a new version
# at most LATEST_TTL_SECONDS late.
LATEST_TTL_SECONDS = 1.0
_latest_ids: dict[str, tuple[str, float]] = {}


def resolve(key: str, version: int | None = None, actor: Actor | None = None) -> LoadedDefinition:
    """The definition a new instance of `key` (of `version`, or the latest) runs on."""
    if version is None:
        hit = _latest_ids.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return load(hit[0])
    query = ProcessDefinition.objects(kind="bpmn", key=key, **visible_to(actor)).only(
        "id", "readers"
    )
    found = (
        query.filter(version=version).first()
        if version is not None
        else query.order_by("-version").first()
    )
    if found is None:
        what = f"{key} v{version}" if version is not None else key
        raise DefinitionNotFound(f"no deployed process {what}")
    if version is None and found.readers is None:
        # Private definitions are never cached: who may start them can change, and they
        # disappear after their run.
        _latest_ids[key] = (str(found.id), time.monotonic() + LATEST_TTL_SECONDS)
    return load(found.id)


def forget_cached() -> None:
    """Forget every cached definition (after definitions were removed, e.g. in tests)."""
    _latest_ids.clear()
    _loaded.clear()
    process_extensions.forget_rules()


def list_latest(kind: str | None = None, actor: Actor | None = None) -> list[ProcessDefinition]:
    """The latest version of every definition key `actor` may see."""
    conditions = visible_to(actor)
    if kind:
        conditions["kind"] = kind
    query = ProcessDefinition.objects(**conditions)
    latest: dict[tuple[str, str], ProcessDefinition] = {}
    for d in query.only(
        "id", "kind", "key", "version", "name", "deployed_at", "deployed_by", "filename"
    ).order_by("key", "-version"):
        latest.setdefault((d.kind, d.key), d)
    return list(latest.values())


def versions(key: str, kind: str = "bpmn", actor: Actor | None = None) -> list[ProcessDefinition]:
    """All versions of `key` `actor` may see, newest first."""
    found = list(
        ProcessDefinition.objects(kind=kind, key=key, **visible_to(actor))
        .exclude("spec", "source")
        .order_by("-version")
    )
    if not found:
        raise DefinitionNotFound(f"no deployed process {key}")
    return found


def set_readers(key: str, readers: list[str]) -> None:
    """Who may see and start every version of the private definition `key`."""
    ProcessDefinition.objects(kind="bpmn", key=key).update(set__readers=list(readers))
    _latest_ids.pop(key, None)


def remove(key: str) -> int:
    """Hide every version of `key` from lookups by key; return how many were hidden.

    The documents stay (finished instances still draw their diagram from them, by id), but
    the key answers 404 and no list shows it. Repeating it changes nothing.
    """
    hidden = ProcessDefinition.objects(kind="bpmn", key=key, removed_at=None).update(
        set__removed_at=utcnow()
    )
    _latest_ids.pop(key, None)
    process_extensions.forget_rules()
    return int(hidden)


_loaded: OrderedDict[str, LoadedDefinition] = OrderedDict()


def load(definition_id: ObjectId | str) -> LoadedDefinition:
    """A definition with its specs, cached: definitions never change once stored."""
    key = str(definition_id)
    cached = _loaded.get(key)
    if cached is not None:
        return cached
    found = ProcessDefinition.objects(id=ObjectId(key)).first()
    if found is None:
        raise DefinitionNotFound(f"definition {key} is gone")
    loaded = LoadedDefinition(
        id=key,
        key=found.key,
        version=found.version,
        name=found.name,
        specs=runtime.specs_from_json(key, found.spec),
        forms=dict(found.forms),
        user_tasks=dict(found.user_tasks),
    )
    _loaded[key] = loaded
    if len(_loaded) > 256:
        _loaded.popitem(last=False)
    return loaded


def deploy_directory(directory: Path, by: str = "system") -> list[str]:
    """Deploy every .dmn, then every .bpmn file of a directory; return 'key vN (file)' lines."""
    lines = []
    for pattern in ("*.dmn", "*.bpmn"):
        for path in sorted(directory.glob(pattern)):
            for d in deploy(path.read_bytes(), path.name, by):
                lines.append(f"{d.key} v{d.version} ({path.name})")
    return lines
