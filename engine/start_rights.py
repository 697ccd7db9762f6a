"""Who may start which procedure, and on which kinds of objects it is offered.

A process declares its defaults on `<bpmn:process>`:

    <bpmn:process id="contract_approval" crm:startableBy="*" crm:subjectTypes="contract">

`crm:startableBy` lists principals (`*` for everyone, a user name, `group:NAME`); designers
and admins change it per key (`set_rights`), and that setting wins over the diagram. A
process without the attribute and without a setting may be started by everyone when it was
deployed directly (the CLI, `bpmn/`, tests), and only by designers when its first version
was uploaded through the API or the UI (`uploaded` records that). Admins and designers may
always start. `crm:subjectTypes` names the object types the procedure applies to (the
start commands of an object's card); without it, the procedure is offered on no object.

Only starts a person asks for are checked (`require`: API `POST /instances`, the UI start
buttons). Starts made by the system on a rule someone already authorised are not: timers,
messages, auto-start rules, the `start_process` operator, and the procedures a domain action
starts as its own step (document registration and execution, assignments, orders, linear
procedures, which have their own sharing rules).
"""

from __future__ import annotations

from typing import Any

from mongoengine import DateTimeField, Document, ListField, StringField

from . import definitions
from .access import DESIGNERS, sees_all_instances
from .actor import Actor
from .errors import InvalidInput, NotAllowed
from .models import ProcessDefinition, utcnow
from .xml import BPMN_NS, CRM_NS, parse_xml

EVERYONE = "*"
DESIGNERS_ONLY = [f"group:{DESIGNERS}"]


class StartRights(Document):
    """The principals who may start a key, as set by a designer (or by an upload)."""

    key = StringField(required=True)
    principals = ListField(StringField())
    set_by = StringField(default="")
    set_at = DateTimeField(default=utcnow)

    meta = {"collection": "start_rights", "indexes": [{"fields": ["key"], "unique": True}]}


ALL_MODELS = (StartRights,)

# Definition id -> (declared principals or None, declared subject types); versions never
# change once stored, so this cache needs no expiry.
_declared: dict[str, tuple[list[str] | None, list[str]]] = {}


def declared(definition: ProcessDefinition) -> tuple[list[str] | None, list[str]]:
    """(`crm:startableBy` principals or None, `crm:subjectTypes`) of a stored definition."""
    hit = _declared.get(str(definition.id))
    if hit is not None:
        return hit
    source = ProcessDefinition.objects(id=definition.id).only("source").first()
    startable: list[str] | None = None
    types: list[str] = []
    if source is not None:
        root = parse_xml(source.source.encode())
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            if process.get("id") != definition.key:
                continue
            by = process.get(f"{{{CRM_NS}}}startableBy")
            startable = by.split() if by is not None else None
            types = (process.get(f"{{{CRM_NS}}}subjectTypes") or "").split()
    _declared[str(definition.id)] = (startable, types)
    if len(_declared) > 1024:
        _declared.pop(next(iter(_declared)))
    return startable, types


def check_declared(root: Any, process_id: str, errors: list[str]) -> None:
    """Deploy-time check of `crm:startableBy` and `crm:subjectTypes` on a process."""
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") != process_id:
            continue
        by = process.get(f"{{{CRM_NS}}}startableBy")
        if by is not None:
            bad = [p for p in by.split() if p != EVERYONE and not _principal_ok(p)]
            if bad or not by.split():
                errors.append(
                    f"process {process_id}: crm:startableBy must list `*`, user names or "
                    f"group:NAME, not {by!r}"
                )
        types = (process.get(f"{{{CRM_NS}}}subjectTypes") or "").split()
        bad_types = [t for t in types if t != EVERYONE and not _principal_ok(t)]
        if bad_types or ":" in "".join(types):
            errors.append(f"process {process_id}: crm:subjectTypes has bad names {types!r}")


def _stored(keys: list[str]) -> dict[str, list[str]]:
    if not keys:
        return {}
    if len(keys) == 1:  # a flat, indexed equality
        found = StartRights.objects(key=keys[0]).first()
        return {found.key: list(found.principals)} if found else {}
    return {r.key: list(r.principals) for r in StartRights.objects(key__in=keys)}


def rights_of(definition: ProcessDefinition, stored: list[str] | None) -> list[str]:
    """The principals who may start `definition`'s key (before the admin/designer rule)."""
    if stored is not None:
        return stored
    startable, _ = declared(definition)
    return startable if startable is not None else [EVERYONE]


def may_start(actor: Actor, rights: list[str]) -> bool:
    if sees_all_instances(actor):
        return True
    return EVERYONE in rights or bool(set(rights) & set(actor.principals))


def allowed(key: str, actor: Actor) -> bool:
    """Whether `actor` may start `key` (NotFound if they cannot see it)."""
    if sees_all_instances(actor):
        return True
    definition = definitions.find(key, actor=actor)
    return may_start(actor, rights_of(definition, _stored([key]).get(key)))


def require(key: str, actor: Actor) -> None:
    """Raise NotAllowed (403) unless `actor` may start `key` (NotFound if they cannot see it)."""
    if not allowed(key, actor):
        raise NotAllowed(f"you may not start {key}")


def state(key: str, actor: Actor) -> dict[str, Any]:
    """The effective start rights of `key` and where they come from."""
    definition = definitions.find(key, actor=actor)
    stored = _stored([key]).get(key)
    startable, types = declared(definition)
    source = "setting" if stored is not None else "diagram" if startable is not None else "default"
    return {
        "key": key,
        "principals": rights_of(definition, stored),
        "source": source,
        "subject_types": types,
    }


def set_rights(key: str, principals: list[str], actor: Actor) -> dict[str, Any]:
    """Replace who may start `key` (designers and admins; the route checks the group)."""
    definitions.find(key, actor=actor)
    cleaned = list(dict.fromkeys(p.strip() for p in principals if p and p.strip()))
    bad = [p for p in cleaned if p != EVERYONE and not _principal_ok(p)]
    if bad:
        raise InvalidInput("bad principals", {"principals": [f"not a user or group:NAME: {bad}"]})
    StartRights.objects(key=key).update_one(
        set__principals=cleaned, set__set_by=actor.username, set__set_at=utcnow(), upsert=True
    )
    return state(key, actor)


def _principal_ok(value: str) -> bool:
    name = value[len("group:") :] if value.startswith("group:") else value
    return bool(name) and all(c.isalnum() or c in "_.@-" for c in name) and len(name) <= 64


def uploaded(deployed: list[ProcessDefinition], by: str) -> None:
    """After an API/UI upload: a new key without `crm:startableBy` is for designers only."""
    for definition in deployed:
        if definition.kind != "bpmn" or definition.version != 1:
            continue
        if declared(definition)[0] is None:
            StartRights.objects(key=definition.key).update_one(
                set_on_insert__principals=DESIGNERS_ONLY,
                set_on_insert__set_by=by,
                set_on_insert__set_at=utcnow(),
                upsert=True,
            )


def startable(actor: Actor, subject_type: str | None = None) -> list[ProcessDefinition]:
    """The latest procedures `actor` may start (on objects of `subject_type`, if given)."""
    latest = definitions.list_latest("bpmn", actor)
    stored = _stored([d.key for d in latest])
    found = []
    for d in latest:
        if subject_type is not None:
            types = declared(d)[1]
            if subject_type not in types and EVERYONE not in types:
                continue
        if may_start(actor, rights_of(d, stored.get(d.key))):
            found.append(d)
    return found
