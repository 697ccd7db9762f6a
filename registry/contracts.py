"""Contracts with a counterparty: we are the executor (we sell) or the customer (we buy).

Stages: draft → approval → signed → in force → closed or terminated (TRANSITIONS). A
contract is read and changed as its organization is; a closed or terminated one is frozen.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.access import read_filter
from engine import autostart
from engine.actor import Actor

from . import audit, organizations
from .common import (
    FieldErrors,
    check_currency,
    check_length,
    check_version,
    ensure_active,
    ensure_writable,
    filter_id,
    load_readable,
    merge_filters,
    object_id,
    save_changed,
    stamp_created,
    text,
    texts,
    to_minor,
)
from .errors import ContractNotFound, RegistryInvalid, StageTransitionRefused
from .models import ACTIVE_CONTRACT_STAGES, CONTRACT_ROLES, CONTRACT_STAGES, VAT_RATES, Contract
from .pagination import Page, Sort, paginate, pick_sort, sorts

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("approval", "signed", "terminated"),
    "approval": ("draft", "signed", "terminated"),
    "signed": ("in_force", "terminated"),
    "in_force": ("closed", "terminated"),
    "closed": (),
    "terminated": (),
}
FINAL_STAGES = ("closed", "terminated")
EDITABLE = (
    "role",
    "number",
    "date",
    "subject",
    "amount",
    "currency",
    "vat_rate",
    "starts_on",
    "ends_on",
    "responsible",
    "files",
    "notes",
)
AUDITED = (
    "organization",
    "role",
    "number",
    "date",
    "subject",
    "amount_minor",
    "currency",
    "vat_rate",
    "starts_on",
    "ends_on",
    "stage",
    "responsible",
    "files",
    "notes",
)
SORTS = sorts(
    Sort("-created", "id", descending=True, unique=True),
    Sort("created", "id", unique=True),
    Sort("number", "number"),
)


def _date(values: dict[str, Any], key: str, errors: FieldErrors) -> date | None:
    value = values.get(key)
    if value is not None and not isinstance(value, date):
        errors.add(key, "must be a date")
        return None
    return value


def clean(values: dict[str, Any], actor: Actor) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized contract fields and the field errors found (no database access)."""
    errors = FieldErrors()
    out: dict[str, Any] = {
        k: text(values.get(k))
        for k in ("role", "number", "subject", "currency", "responsible", "notes")
    }
    out["currency"] = out["currency"] or "RUB"
    out["responsible"] = out["responsible"] or actor.username
    if out["role"] not in CONTRACT_ROLES:
        errors.add("role", "executor (we sell) or customer (we buy)")
    if not out["number"]:
        errors.add("number", "is required")
    check_length(errors, "number", out["number"], 100)
    check_length(errors, "subject", out["subject"])
    check_length(errors, "notes", out["notes"])
    check_length(errors, "responsible", out["responsible"], 64)
    check_currency(errors, "currency", out["currency"])
    out["amount_minor"] = to_minor(values.get("amount"), "amount", errors)
    vat = values.get("vat_rate")
    if vat is not None and vat not in VAT_RATES:
        errors.add("vat_rate", f"one of {', '.join(map(str, VAT_RATES))}, or null for no VAT")
    out["vat_rate"] = vat
    for key in ("date", "starts_on", "ends_on"):
        out[key] = _date(values, key, errors)
    if out["starts_on"] and out["ends_on"] and out["ends_on"] < out["starts_on"]:
        errors.add("ends_on", "is before starts_on")
    out["files"] = texts(values.get("files"))
    return out, errors


def create(actor: Actor, values: dict[str, Any]) -> Contract:
    """Make a contract with an organization the actor may change (a draft unless told)."""
    org = organizations.parent(actor, values.get("organization"))
    cleaned, errors = clean(values, actor)
    stage = text(values.get("stage")) or "draft"
    if stage not in CONTRACT_STAGES:
        errors.add("stage", f"one of: {', '.join(CONTRACT_STAGES)}")
    errors.raise_if_any("the contract has invalid fields")
    contract = Contract(organization=org.id, access=org.access, stage=stage, **cleaned)
    stamp_created(contract, actor)
    contract.save(force_insert=True)
    audit.record(
        actor,
        "created",
        "contract",
        contract.id,
        org.id,
        audit.created(audit.snapshot(contract, AUDITED)),
    )
    autostart.fire("contract", "created", _subject(contract), _event_values(contract), actor)
    return contract


def _subject(contract: Contract) -> dict[str, str]:
    return {"type": "contract", "id": str(contract.id), "title": f"№ {contract.number}"[:200]}


def _event_values(contract: Contract) -> dict[str, Any]:
    """What an auto-start condition sees of a contract (and the started instance gets)."""
    return {
        "contract_id": str(contract.id),
        "organization_id": str(contract.organization),
        "number": contract.number,
        "role": contract.role,
        "stage": contract.stage,
        "amount_minor": contract.amount_minor,
        "currency": contract.currency,
    }


def get(actor: Actor, contract_id: Any) -> Contract:
    """A contract the actor may read."""
    oid = object_id(contract_id, ContractNotFound, "contract")
    return load_readable(Contract, oid, actor, ContractNotFound, "contract")


def get_writable(actor: Actor, contract_id: Any) -> Contract:
    """A contract the actor may change that is neither archived nor closed."""
    contract = get(actor, contract_id)
    ensure_writable(actor, contract.access, "contract")
    ensure_active(contract, "contract")
    if contract.stage in FINAL_STAGES:
        raise StageTransitionRefused(f"the contract is {contract.stage}; it cannot change")
    return contract


def parent(actor: Actor, value: Any, field: str = "contract") -> Contract:
    """The contract a new invoice or delivery names: a field error if it is unknown."""
    try:
        return get_writable(actor, value)
    except ContractNotFound as exc:
        raise RegistryInvalid("unknown contract", {field: ["no such contract"]}) from exc


def update(
    actor: Actor, contract_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Contract:
    """Change the given fields of a contract (the stage changes with `change_stage`)."""
    contract = get_writable(actor, contract_id)
    before = audit.snapshot(contract, AUDITED)
    check_version(contract, expected_version)
    current = {k: getattr(contract, k) for k in EDITABLE}
    cleaned, errors = clean({**current, **changes}, actor)
    if cleaned["role"] != contract.role and contract.stage != "draft":
        errors.add("role", "changes only while the contract is a draft")
    errors.raise_if_any("the contract has invalid fields")
    for key, value in cleaned.items():
        setattr(contract, key, value)
    changed = audit.diff(before, audit.snapshot(contract, AUDITED))
    if not changed:
        return contract
    save_changed(contract, actor, expected_version)
    audit.record(actor, "updated", "contract", contract.id, contract.organization, changed)
    return contract


def change_stage(
    actor: Actor, contract_id: Any, stage: str, expected_version: int | None = None
) -> Contract:
    """Move a contract to the next stage of its lifecycle."""
    contract = get(actor, contract_id)
    ensure_writable(actor, contract.access, "contract")
    ensure_active(contract, "contract")
    if stage not in CONTRACT_STAGES:
        raise RegistryInvalid("unknown stage", {"stage": [f"one of: {', '.join(CONTRACT_STAGES)}"]})
    check_version(contract, expected_version)
    if stage == contract.stage:
        return contract
    allowed = TRANSITIONS[contract.stage]
    if stage not in allowed:
        raise StageTransitionRefused(
            f"a contract goes from {contract.stage} to "
            f"{' or '.join(allowed) if allowed else 'nowhere'}, not to {stage}"
        )
    old = contract.stage
    contract.stage = stage
    save_changed(contract, actor, expected_version)
    audit.record(
        actor,
        "stage_changed",
        "contract",
        contract.id,
        contract.organization,
        {"stage": {"from": old, "to": stage}},
    )
    values = {**_event_values(contract), "previous_stage": old}
    autostart.fire("contract", "stage", _subject(contract), values, actor, stage=stage)
    return contract


def change_access(
    actor: Actor,
    contract_id: Any,
    principals: list[str],
    level: str,
    grant: bool,
) -> Contract:
    """Add (grant) or remove users and `group:NAME`s on the contract's own access list.

    Writers may always read, so granting write adds to both lists and revoking read
    removes from both. The organization's access list, when it changes, is copied over
    the contract's again (registry.repository.copy_access).
    """
    if level not in ("read", "write"):
        raise RegistryInvalid("unknown access level", {"level": ["read or write"]})
    contract = get(actor, contract_id)
    ensure_writable(actor, contract.access, "contract")
    ensure_active(contract, "contract")
    before = {"read": list(contract.access.read), "write": list(contract.access.write)}
    read, write = list(before["read"]), list(before["write"])
    names = texts(principals)
    if grant:
        write = texts([*write, *names]) if level == "write" else write
        read = texts([*read, *names])
    else:
        write = [p for p in write if p not in names]
        read = read if level == "write" else [p for p in read if p not in names or p in write]
    after = {"read": read, "write": write}
    if after == before:
        return contract
    contract.access.read, contract.access.write = read, write
    save_changed(contract, actor)
    audit.record(
        actor,
        "access_changed",
        "contract",
        contract.id,
        contract.organization,
        {"access": {"from": before, "to": after}},
    )
    return contract


def archive(actor: Actor, contract_id: Any) -> Contract:
    """Archive a contract that is not active (draft, closed or terminated)."""
    contract = get(actor, contract_id)
    ensure_writable(actor, contract.access, "contract")
    if contract.archived:
        return contract
    if contract.stage in ACTIVE_CONTRACT_STAGES:
        raise StageTransitionRefused(
            f"the contract is {contract.stage}; close or terminate it before archiving"
        )
    contract.archived, contract.archived_by = True, actor.username
    save_changed(contract, actor)
    audit.record(
        actor,
        "archived",
        "contract",
        contract.id,
        contract.organization,
        {"archived": {"from": False, "to": True}},
    )
    return contract


def find(
    actor: Actor,
    *,
    organization: str | None = None,
    role: str | None = None,
    stage: str | None = None,
    responsible: str | None = None,
    number: str | None = None,
    archived: bool | None = False,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Contract]:
    """Contracts the actor may read that match the filters, newest first."""
    parts: list[dict[str, Any]] = [f for f in (read_filter(actor),) if f]
    if archived is not None:
        parts.append({"archived": archived})
    if organization:
        parts.append({"organization": filter_id(organization, "organization")})
    for key, value in (
        ("role", role),
        ("stage", stage),
        ("responsible", responsible),
        ("number", number),
    ):
        if value:
            parts.append({key: value})
    where = merge_filters(*parts)
    return paginate(Contract, where, pick_sort(SORTS, sort, "-created"), limit, cursor)


def of_organization(organization_id: Any, limit: int = 200) -> list[Contract]:
    """The contracts of an organization, both roles, newest first (its card)."""
    return list(
        Contract.objects(organization=organization_id, archived=False).order_by("-id").limit(limit)
    )
