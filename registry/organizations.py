"""Organizations (counterparties): create, change, archive, restore, find.

The access rule (docs/registry.md): everyone reads an organization unless it is restricted;
its responsible manager, the manager's groups and its extra writers change it; a restricted
organization is read only by its writers and its extra readers. Admins see and change all.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from mongoengine.errors import NotUniqueError

from accounts.access import AccessList, make_access, read_filter
from accounts.models import User
from engine.actor import Actor
from engine.models import utcnow

from . import audit, repository, requisites, search
from .common import (
    FieldErrors,
    check_attributes,
    check_emails,
    check_length,
    check_phones,
    check_principals,
    check_version,
    ensure_active,
    ensure_writable,
    load_readable,
    merge_filters,
    object_id,
    save_changed,
    stamp_created,
    text,
    texts,
)
from .errors import ActiveContracts, DuplicateOrganization, OrganizationNotFound, RegistryInvalid
from .models import ACTIVE_CONTRACT_STAGES, Address, BankAccount, Contract, Organization
from .pagination import Page, Sort, paginate, pick_sort, sorts

ADDRESS_FIELDS = ("legal_address", "actual_address", "postal_address")
ADDRESS_PARTS = ("index", "region", "city", "street", "house", "office")
BANK_FIELDS = ("bank_name", "bik", "correspondent_account", "settlement_account")
TEXT_FIELDS = (
    "name",
    "short_name",
    "legal_form",
    "inn",
    "kpp",
    "ogrn",
    "okpo",
    "website",
    "responsible",
    "notes",
)
LIST_FIELDS = ("phones", "emails", "tags", "readers", "writers")
EDITABLE = (
    *TEXT_FIELDS,
    *ADDRESS_FIELDS,
    *LIST_FIELDS,
    "bank_accounts",
    "attributes",
    "restricted",
)
AUDITED = (*EDITABLE, "access")
SORTS = sorts(
    Sort("name", "sort_name", unique=True),
    Sort("-name", "sort_name", descending=True, unique=True),
    Sort("created", "id", unique=True),
    Sort("-created", "id", descending=True, unique=True),
)


# ------------------------------------------------------------------------ validation


def _clean_address(value: Any, field: str, errors: FieldErrors) -> dict[str, str] | None:
    if not value:
        return None
    address = {part: text(value.get(part)) for part in ADDRESS_PARTS}
    for part, item in address.items():
        check_length(errors, f"{field}.{part}", item, 300)
    if address["index"] and not (address["index"].isdigit() and len(address["index"]) == 6):
        errors.add(f"{field}.index", "a postal code is 6 digits")
    return address if any(address.values()) else None


def _clean_bank_account(value: dict[str, Any], field: str, errors: FieldErrors) -> dict[str, str]:
    account = {
        key: text(value.get(key)).replace(" ", "") if key != "bank_name" else text(value.get(key))
        for key in BANK_FIELDS
    }
    bik = account["bik"]
    if not bik:
        errors.add(f"{field}.bik", "is required")
    else:
        errors.check(f"{field}.bik", requisites.check_bik(bik))
    if account["correspondent_account"]:
        errors.check(
            f"{field}.correspondent_account",
            requisites.check_correspondent_account(account["correspondent_account"], bik),
        )
    if not account["settlement_account"]:
        errors.add(f"{field}.settlement_account", "is required")
    else:
        errors.check(
            f"{field}.settlement_account",
            requisites.check_settlement_account(account["settlement_account"], bik),
        )
    check_length(errors, f"{field}.bank_name", account["bank_name"], 300)
    return account


def clean(values: dict[str, Any]) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized organization fields and the field errors found (no database access)."""
    errors = FieldErrors()
    out: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        out[key] = text(values.get(key))
    for key in ("inn", "kpp", "ogrn", "okpo"):
        out[key] = out[key].replace(" ", "")
    out["kpp"] = out["kpp"].upper()
    if not out["name"]:
        errors.add("name", "is required")
    for key in ("name", "short_name"):
        check_length(errors, key, out[key], 500)
    for key in ("legal_form", "website", "responsible"):
        check_length(errors, key, out[key], 200)
    check_length(errors, "notes", out["notes"])
    inn, kpp, ogrn = out["inn"], out["kpp"], out["ogrn"]
    if inn:
        errors.check("inn", requisites.check_inn(inn))
    if kpp:
        errors.check("kpp", requisites.check_kpp(kpp))
        if len(inn) == 12:
            errors.add("kpp", "an individual entrepreneur (12-digit INN) has no KPP")
        if not inn:
            errors.add("inn", "is required with a KPP")
    if ogrn:
        errors.check("ogrn", requisites.check_ogrn(ogrn))
        if len(inn) == 10 and len(ogrn) == 15:
            errors.add("ogrn", "an organization (10-digit INN) has a 13-digit OGRN")
        if len(inn) == 12 and len(ogrn) == 13:
            errors.add("ogrn", "an individual entrepreneur (12-digit INN) has a 15-digit OGRNIP")
    if out["okpo"]:
        errors.check("okpo", requisites.check_okpo(out["okpo"]))
    for key in ADDRESS_FIELDS:
        out[key] = _clean_address(values.get(key), key, errors)
    for key in LIST_FIELDS:
        out[key] = texts(values.get(key))
    check_phones(errors, "phones", out["phones"])
    check_emails(errors, "emails", out["emails"])
    for i, tag in enumerate(out["tags"]):
        check_length(errors, f"tags.{i}", tag, 100)
    check_principals(errors, "readers", out["readers"])
    check_principals(errors, "writers", out["writers"], everyone=False)
    out["bank_accounts"] = [
        _clean_bank_account(a or {}, f"bank_accounts.{i}", errors)
        for i, a in enumerate(values.get("bank_accounts") or [])
    ]
    out["attributes"] = dict(values.get("attributes") or {})
    check_attributes(errors, "attributes", out["attributes"])
    out["restricted"] = bool(values.get("restricted"))
    return out, errors


def access_for(
    responsible: str, groups: list[str], restricted: bool, readers: list[str], writers: list[str]
) -> AccessList:
    """The access list of an organization (the rule in the module docstring)."""
    write = [responsible, *(f"group:{g}" for g in sorted(groups)), *writers]
    return make_access(read=[*([] if restricted else ["*"]), *readers], write=write)


def groups_of(usernames: set[str], actor: Actor) -> dict[str, list[str]]:
    """The groups of each active user among `usernames` (the actor's from the actor)."""
    found = {actor.username: sorted(actor.groups)} if actor.username in usernames else {}
    rest = usernames - set(found)
    if rest:
        for user in User.objects(username__in=sorted(rest), active=True).only("username", "groups"):
            found[user.username] = sorted(user.groups)
    return found


def requisites_key(inn: str, kpp: str) -> str | None:
    """The unique key of an organization's requisites, None without an INN."""
    return f"{inn}/{kpp}" if inn else None


def apply(org: Organization, values: dict[str, Any], groups: list[str]) -> None:
    """Set cleaned fields and everything derived from them on `org`."""
    for key in (*TEXT_FIELDS, *LIST_FIELDS, "attributes", "restricted"):
        setattr(org, key, values[key])
    for key in ADDRESS_FIELDS:
        setattr(org, key, Address(**values[key]) if values[key] else None)
    org.bank_accounts = [BankAccount(**a) for a in values["bank_accounts"]]
    org.access = access_for(org.responsible, groups, org.restricted, org.readers, org.writers)
    index_keys(org)


def index_keys(org: Organization) -> None:
    """Derive the search keys of `org` from its fields."""
    if org.id is None:
        org.id = ObjectId()
    org.search_text = search.normalize(f"{org.name} {org.short_name}")
    org.search_tokens = search.tokens(org.name, org.short_name)
    org.sort_name = search.sort_key(org.display_name, org.id)
    org.phone_keys = search.phone_keys(org.phones)
    org.email_keys = search.lower_keys(org.emails)
    org.tag_keys = search.lower_keys(org.tags)
    org.requisites_key = requisites_key(org.inn, org.kpp)


def values_of(org: Organization) -> dict[str, Any]:
    """The editable fields of `org` in the shape `clean` accepts."""
    out: dict[str, Any] = {
        key: getattr(org, key) for key in (*TEXT_FIELDS, *LIST_FIELDS, "restricted")
    }
    for key in ADDRESS_FIELDS:
        address = getattr(org, key)
        out[key] = {p: getattr(address, p) for p in ADDRESS_PARTS} if address else None
    out["bank_accounts"] = [{k: getattr(a, k) for k in BANK_FIELDS} for a in org.bank_accounts]
    out["attributes"] = dict(org.attributes or {})
    return out


def _responsible_groups(values: dict[str, Any], actor: Actor, errors: FieldErrors) -> list[str]:
    responsible = values["responsible"]
    found = groups_of({responsible}, actor)
    if responsible not in found:
        errors.add("responsible", "no such active user")
    return found.get(responsible, [])


def _duplicate(key: str | None, exclude: ObjectId | None = None) -> Organization | None:
    if not key:
        return None
    query = Organization.objects(requisites_key=key)
    if exclude is not None:
        query = query.filter(id__ne=exclude)
    return query.only("id", "name", "short_name").first()


def _refuse_duplicate(existing: Organization) -> DuplicateOrganization:
    return DuplicateOrganization(
        f"an organization with this INN and KPP exists: {existing.display_name}",
        str(existing.id),
        existing.display_name,
    )


# -------------------------------------------------------------------------- services


def create(actor: Actor, values: dict[str, Any]) -> Organization:
    """Create an organization; the actor is its responsible manager unless one is named."""
    values = {**values, "responsible": text(values.get("responsible")) or actor.username}
    cleaned, errors = clean(values)
    groups = _responsible_groups(cleaned, actor, errors)
    errors.raise_if_any("the organization has invalid fields")
    existing = _duplicate(requisites_key(cleaned["inn"], cleaned["kpp"]))
    if existing is not None:
        raise _refuse_duplicate(existing)
    org = Organization()
    apply(org, cleaned, groups)
    stamp_created(org, actor)
    try:
        org.save(force_insert=True)
    except NotUniqueError as exc:  # a concurrent create with the same requisites won
        existing = _duplicate(org.requisites_key)
        if existing is None:
            raise
        raise _refuse_duplicate(existing) from exc
    audit.record(
        actor,
        "created",
        "organization",
        org.id,
        org.id,
        audit.created(audit.snapshot(org, AUDITED)),
    )
    return org


def get(actor: Actor, organization_id: Any) -> Organization:
    """An organization the actor may read (archived ones too)."""
    oid = object_id(organization_id, OrganizationNotFound, "organization")
    return load_readable(Organization, oid, actor, OrganizationNotFound, "organization")


def get_writable(actor: Actor, organization_id: Any) -> Organization:
    """An active organization the actor may change (the parent of a new linked object)."""
    org = get(actor, organization_id)
    ensure_writable(actor, org.access, "organization")
    ensure_active(org, "organization")
    return org


def update(
    actor: Actor, organization_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Organization:
    """Change the given fields of an organization; others keep their values."""
    org = get_writable(actor, organization_id)
    before = audit.snapshot(org, AUDITED)
    check_version(org, expected_version)
    unknown = set(changes) - set(EDITABLE)
    errors = FieldErrors()
    for key in sorted(unknown):
        errors.add(key, "unknown field")
    errors.raise_if_any("the organization has invalid fields")
    groups: list[str] = []
    values = {**values_of(org), **changes}
    cleaned, errors = clean(values)
    responsible = cleaned["responsible"]
    found = groups_of({responsible}, actor) if responsible else {}
    if responsible in found:
        groups = found[responsible]
    elif responsible != org.responsible or not responsible:
        errors.add("responsible", "no such active user")
    else:
        # The manager's account is gone: keep the group entries their groups gave.
        groups = [
            p.removeprefix("group:")
            for p in org.access.write
            if p.startswith("group:") and p not in org.writers
        ]
    errors.raise_if_any("the organization has invalid fields")
    new_key = requisites_key(cleaned["inn"], cleaned["kpp"])
    if new_key != org.requisites_key:
        existing = _duplicate(new_key, exclude=org.id)
        if existing is not None:
            raise _refuse_duplicate(existing)
    apply(org, cleaned, groups)
    after = audit.snapshot(org, AUDITED)
    changed = audit.diff(before, after)
    if not changed:
        return org
    try:
        save_changed(org, actor, expected_version)
    except NotUniqueError as exc:
        existing = _duplicate(org.requisites_key, exclude=org.id)
        if existing is None:
            raise
        raise _refuse_duplicate(existing) from exc
    if "access" in changed:
        repository.copy_access(org.id, org.access)
    if "short_name" in changed or "name" in changed:
        repository.copy_sort_name(org.id, org.sort_name)
    audit.record(actor, "updated", "organization", org.id, org.id, changed)
    return org


def archive(actor: Actor, organization_id: Any) -> Organization:
    """Archive (soft-delete) an organization; refused while it has active contracts."""
    org = get(actor, organization_id)
    ensure_writable(actor, org.access, "organization")
    if org.archived:
        return org
    active = list(
        Contract.objects(organization=org.id, archived=False, stage__in=ACTIVE_CONTRACT_STAGES)
        .only("id", "number", "stage")
        .limit(20)
    )
    if active:
        raise ActiveContracts(
            f"{org.display_name} has active contracts; close or terminate them first",
            [{"id": str(c.id), "number": c.number, "stage": c.stage} for c in active],
        )
    org.archived, org.archived_at, org.archived_by = True, utcnow(), actor.username
    save_changed(org, actor)
    audit.record(
        actor, "archived", "organization", org.id, org.id, {"archived": {"from": False, "to": True}}
    )
    return org


def restore(actor: Actor, organization_id: Any) -> Organization:
    """Bring an archived organization back."""
    org = get(actor, organization_id)
    ensure_writable(actor, org.access, "organization")
    if not org.archived:
        return org
    org.archived, org.archived_at, org.archived_by = False, None, None
    save_changed(org, actor)
    audit.record(
        actor, "restored", "organization", org.id, org.id, {"archived": {"from": True, "to": False}}
    )
    return org


def search_filter(
    actor: Actor,
    q: str | None = None,
    match: str = "prefix",
    inn: str | None = None,
    ogrn: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    tag: str | None = None,
    responsible: str | None = None,
    archived: bool | None = False,
) -> dict[str, Any]:
    """The pymongo filter of an organization search, the actor's access included."""
    parts: list[dict[str, Any]] = []
    access = read_filter(actor)
    if access:
        parts.append(access)
    if archived is not None:
        parts.append({"archived": archived})
    query = text(q)
    compact = query.replace(" ", "")
    if compact.isdigit() and len(compact) in (10, 12):
        parts.append({"inn": compact})
    elif compact.isdigit() and len(compact) in (13, 15):
        parts.append({"ogrn": compact})
    elif query:
        found = search.word_filter(query, contains=match == "contains")
        parts.append(found or {"_id": None})
    if inn:
        parts.append({"inn": text(inn)})
    if ogrn:
        parts.append({"ogrn": text(ogrn)})
    if phone:
        parts.append({"phone_keys": search.phone_key(phone) or "-"})
    if email:
        parts.append({"email_keys": text(email).lower()})
    if tag:
        parts.append({"tag_keys": text(tag).lower()})
    if responsible:
        parts.append({"responsible": text(responsible)})
    return merge_filters(*parts)


def find(
    actor: Actor,
    *,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    **filters: Any,
) -> Page[Organization]:
    """Organizations the actor may read that match the filters, one page at a time."""
    order = pick_sort(SORTS, sort, "name")
    return paginate(Organization, search_filter(actor, **filters), order, limit, cursor)


def parent(
    actor: Actor, value: Any, field: str = "organization", write: bool = True
) -> Organization:
    """The organization a new linked object names: a field error if it is unknown."""
    try:
        return get_writable(actor, value) if write else get(actor, value)
    except OrganizationNotFound as exc:
        raise RegistryInvalid("unknown organization", {field: ["no such organization"]}) from exc
