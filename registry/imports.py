"""Import and export of organizations and contacts as CSV or XLSX.

An import maps file columns to fields (by the mapping given, else by header name or a
known Russian header), checks every row first, and writes only if every row is good: all or
nothing, unless `allow_partial` asks to skip bad rows. A dry run checks and writes nothing.
The rows of one import share a batch id; if writing fails midway, the batch is deleted.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bson import ObjectId
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from accounts.access import can_write, read_filter
from engine.actor import Actor
from engine.ooxml import PackageLimits, package_problems

from . import audit, contacts, organizations
from .common import stamp_created
from .errors import ImportFailed, RegistryInvalid
from .models import AuditEvent, Contact, Organization

MAX_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
# A sheet of repeated values compresses well: a higher ratio than templates allow.
IMPORT_LIMITS = PackageLimits(
    max_bytes=MAX_BYTES, max_entries=1000, max_uncompressed=MAX_UNZIPPED_BYTES, max_ratio=200.0
)
MAX_ROWS = 50_000
MAX_EXPORT = 100_000
CHUNK = 1000
FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"

_ADDRESS = [f"{a}.{p}" for a in organizations.ADDRESS_FIELDS for p in organizations.ADDRESS_PARTS]
_BANK = [f"bank.{k}" for k in organizations.BANK_FIELDS]
ORGANIZATION_FIELDS = (
    "name",
    "short_name",
    "legal_form",
    "inn",
    "kpp",
    "ogrn",
    "okpo",
    "phones",
    "emails",
    "website",
    "tags",
    "responsible",
    "notes",
    "restricted",
    *_ADDRESS,
    *_BANK,
)
CONTACT_FIELDS = (
    "organization_id",
    "organization_inn",
    "organization_kpp",
    "name",
    "position",
    "phones",
    "emails",
    "notes",
    "is_primary",
)
LIST_FIELDS = ("phones", "emails", "tags")
BOOL_FIELDS = ("restricted", "is_primary")
ALIASES = {
    "наименование": "name",
    "полное наименование": "name",
    "организация": "name",
    "краткое наименование": "short_name",
    "сокращенное наименование": "short_name",
    "опф": "legal_form",
    "организационно-правовая форма": "legal_form",
    "инн": "inn",
    "кпп": "kpp",
    "огрн": "ogrn",
    "огрнип": "ogrn",
    "окпо": "okpo",
    "телефон": "phones",
    "телефоны": "phones",
    "e-mail": "emails",
    "email": "emails",
    "эл. почта": "emails",
    "электронная почта": "emails",
    "сайт": "website",
    "теги": "tags",
    "метки": "tags",
    "ответственный": "responsible",
    "примечание": "notes",
    "примечания": "notes",
    "заметки": "notes",
    "банк": "bank.bank_name",
    "бик": "bank.bik",
    "к/с": "bank.correspondent_account",
    "корр. счет": "bank.correspondent_account",
    "р/с": "bank.settlement_account",
    "расчетный счет": "bank.settlement_account",
    "индекс": "legal_address.index",
    "регион": "legal_address.region",
    "город": "legal_address.city",
    "улица": "legal_address.street",
    "дом": "legal_address.house",
    "офис": "legal_address.office",
    "фио": "name",
    "должность": "position",
    "основной": "is_primary",
    "инн организации": "organization_inn",
    "кпп организации": "organization_kpp",
}


@dataclass
class RowError:
    """The problems of one row; `row` counts lines of the file, the header being row 1."""

    row: int
    errors: dict[str, list[str]]


@dataclass
class ImportReport:
    """What an import found and did."""

    kind: str
    batch: str
    dry_run: bool
    total: int = 0
    valid: int = 0
    created: int = 0
    skipped: int = 0
    written: bool = False
    columns: dict[str, str] = field(default_factory=dict)  # file column -> field
    ignored: list[str] = field(default_factory=list)  # file columns imported nowhere
    errors: list[RowError] = field(default_factory=list)

    def as_errors(self) -> dict[str, Any]:
        """The report as the `errors` of ImportFailed."""
        return {
            "rows": [{"row": e.row, "errors": e.errors} for e in self.errors],
            "total": self.total,
            "valid": self.valid,
            "batch": self.batch,
        }


# ---------------------------------------------------------------------------- reading


def _format(filename: str | None, fmt: str | None, content: bytes) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise RegistryInvalid("unknown format", {"format": ["csv or xlsx"]})
        return fmt
    if (filename and filename.lower().endswith(".xlsx")) or content[:2] == b"PK":
        return "xlsx"
    return "csv"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _read_csv(content: bytes) -> Iterator[list[str]]:
    try:
        decoded = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        decoded = content.decode("cp1251")  # what Russian Excel saves as "CSV"
    first = decoded.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    for row in csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter):
        yield [c.strip() for c in row]


def _read_xlsx(content: bytes) -> Iterator[list[str]]:
    # Zip and XML bombs (ratios, DOCTYPE/ENTITY in any part) are refused before openpyxl.
    problems = package_problems(content, IMPORT_LIMITS, ("xl/workbook.xml",), kind="XLSX")
    if problems:
        raise RegistryInvalid("the file is refused: " + "; ".join(problems), {"file": problems})
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise RegistryInvalid("not an XLSX file", {"file": ["not a readable XLSX file"]}) from exc
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell(c) for c in row]
    finally:
        book.close()


def read_rows(
    content: bytes, filename: str | None = None, fmt: str | None = None
) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows of a CSV or XLSX file (empty rows dropped)."""
    if len(content) > MAX_BYTES:
        raise RegistryInvalid("the file is too large", {"file": ["at most 20 MB"]})
    kind = _format(filename, fmt, content)
    rows = _read_csv(content) if kind == "csv" else _read_xlsx(content)
    header: list[str] | None = None
    data: list[list[str]] = []
    for row in rows:
        if header is None:
            if any(row):
                header = row
            continue
        data.append(row)
        if len(data) > MAX_ROWS:
            raise RegistryInvalid("too many rows", {"file": [f"at most {MAX_ROWS} rows"]})
    if header is None:
        raise RegistryInvalid("the file is empty", {"file": ["no header row"]})
    return header, data


def _key(header: str) -> str:
    return re.sub(r"\s+", " ", header.strip().lower().replace("ё", "е"))


def resolve_columns(
    header: list[str], fields: tuple[str, ...], mapping: dict[str, str] | None
) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """(column index -> field, column -> field, ignored columns) for a file's header."""
    mapping = mapping or {}
    errors: dict[str, list[str]] = {}
    for column, target in mapping.items():
        if target and target not in fields:
            errors[f"mapping.{column}"] = [f"unknown field {target!r}"]
        if column not in header:
            errors[f"mapping.{column}"] = ["no such column in the file"]
    if errors:
        raise RegistryInvalid("the column mapping is invalid", errors)
    by_index: dict[int, str] = {}
    for index, column in enumerate(header):
        if column in mapping:
            target = mapping[column]
        else:
            key = _key(column)
            target = key if key in fields else ALIASES.get(key, "")
        if target and target not in by_index.values():
            by_index[index] = target
    named = {header[i]: f for i, f in by_index.items()}
    ignored = [c for i, c in enumerate(header) if i not in by_index and c]
    return by_index, named, ignored


def _split(value: str, commas: bool) -> list[str]:
    # Phones keep their commas ("доб. 12, 14"); e-mails and tags split on them too.
    return [p.strip() for p in re.split(r"[;\n,]" if commas else r"[;\n]", value) if p.strip()]


def _bool(value: str) -> bool:
    return _key(value) in ("1", "да", "yes", "true", "y", "д", "+", "истина")


def row_values(row: list[str], columns: dict[int, str]) -> dict[str, Any]:
    """One row as the nested values a service accepts."""
    values: dict[str, Any] = {}
    for index, target in columns.items():
        raw = row[index] if index < len(row) else ""
        if target in LIST_FIELDS:
            values[target] = _split(raw, commas=target != "phones")
        elif target in BOOL_FIELDS:
            values[target] = _bool(raw)
        elif "." in target:
            group, part = target.split(".", 1)
            if raw:
                values.setdefault(group, {})[part] = raw
        else:
            values[target] = raw
    bank = values.pop("bank", None)
    if bank:
        values["bank_accounts"] = [bank]
    return values


# ------------------------------------------------------------------- organizations


def _prepare_organizations(
    actor: Actor, rows: list[list[str]], columns: dict[int, str], report: ImportReport
) -> list[tuple[int, dict[str, Any]]]:
    """Check every row; return (row number, cleaned values) of the good ones."""
    candidates: list[tuple[int, dict[str, Any], dict[str, list[str]]]] = []
    for number, row in enumerate(rows, start=2):
        if not any(row):
            continue
        values = row_values(row, columns)
        values["responsible"] = (values.get("responsible") or "").strip() or actor.username
        cleaned, field_errors = organizations.clean(values)
        candidates.append((number, cleaned, dict(field_errors)))
    report.total = len(candidates)
    managers = organizations.groups_of({c["responsible"] for _, c, _ in candidates}, actor)
    keys = {organizations.requisites_key(c["inn"], c["kpp"]) for _, c, e in candidates}
    keys.discard(None)
    existing: dict[str, str] = {}
    key_list = sorted(k for k in keys if k)
    for start in range(0, len(key_list), CHUNK):
        for org in Organization.objects(requisites_key__in=key_list[start : start + CHUNK]).only(
            "id", "requisites_key"
        ):
            existing[org.requisites_key] = str(org.id)
    seen: dict[str, int] = {}
    good = []
    for number, cleaned, row_errors in candidates:
        errors = row_errors
        if cleaned["responsible"] not in managers:
            errors.setdefault("responsible", []).append("no such active user")
        key = organizations.requisites_key(cleaned["inn"], cleaned["kpp"])
        if key and key in existing:
            errors.setdefault("inn", []).append(
                f"an organization with this INN and KPP exists: {existing[key]}"
            )
        elif key and key in seen:
            errors.setdefault("inn", []).append(f"the same INN and KPP as row {seen[key]}")
        elif key:
            seen[key] = number
        if errors:
            report.errors.append(RowError(number, errors))
        else:
            good.append((number, {**cleaned, "_groups": managers[cleaned["responsible"]]}))
    report.valid = len(good)
    return good


def _insert_batch(actor: Actor, docs: list[Any], kind: str, report: ImportReport) -> None:
    """Insert documents of one batch and their audit events; on failure remove them all."""
    model = type(docs[0])
    collection = model._get_collection()
    try:
        for start in range(0, len(docs), CHUNK):
            collection.insert_many(
                [d.to_mongo().to_dict() for d in docs[start : start + CHUNK]], ordered=True
            )
        events = [
            audit.event(
                actor,
                "imported",
                kind,
                d.id,
                d.id if kind == "organization" else d.organization,
                batch=report.batch,
            )
            for d in docs
        ]
        for start in range(0, len(events), CHUNK):
            audit.insert_many(events[start : start + CHUNK])
    except Exception:
        collection.delete_many({"import_batch": report.batch})
        AuditEvent._get_collection().delete_many({"batch": report.batch})
        raise
    report.created, report.written = len(docs), True


def _finish(report: ImportReport, allow_partial: bool) -> bool:
    """Whether to write; raise ImportFailed when bad rows forbid it."""
    report.skipped = len(report.errors)
    if report.dry_run:
        return False
    if report.errors and not allow_partial:
        raise ImportFailed(
            f"{len(report.errors)} of {report.total} rows are invalid; nothing was imported",
            report.as_errors(),
        )
    return report.valid > 0


def import_organizations(
    actor: Actor,
    content: bytes,
    filename: str | None = None,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    allow_partial: bool = False,
) -> ImportReport:
    """Import organizations from a CSV/XLSX file (all or nothing unless `allow_partial`)."""
    header, rows = read_rows(content, filename, fmt)
    columns, named, ignored = resolve_columns(header, ORGANIZATION_FIELDS, mapping)
    if "name" not in named.values():
        raise RegistryInvalid("no column for the name", {"mapping": ["map a column to name"]})
    report = ImportReport(
        "organizations", uuid.uuid4().hex, dry_run, columns=named, ignored=ignored
    )
    good = _prepare_organizations(actor, rows, columns, report)
    if not _finish(report, allow_partial):
        return report
    docs = []
    for _, values in good:
        org = Organization(import_batch=report.batch)
        organizations.apply(org, values, values["_groups"])
        stamp_created(org, actor)
        docs.append(org)
    _insert_batch(actor, docs, "organization", report)
    return report


# ------------------------------------------------------------------------- contacts


def _organizations_by_inn(actor: Actor, inns: set[str]) -> dict[str, list[Organization]]:
    found: dict[str, list[Organization]] = {}
    inn_list = sorted(inns)
    for start in range(0, len(inn_list), CHUNK):
        where = {"inn": {"$in": inn_list[start : start + CHUNK]}, **read_filter(actor)}
        for org in Organization.objects(__raw__=where).only(
            "id", "inn", "kpp", "access", "archived"
        ):
            found.setdefault(org.inn, []).append(org)
    return found


def _contact_organization(
    values: dict[str, Any],
    by_inn: dict[str, list[Organization]],
    by_id: dict[str, Organization],
    actor: Actor,
    errors: dict[str, list[str]],
) -> Organization | None:
    oid, inn = values.get("organization_id", ""), values.get("organization_inn", "")
    kpp = values.get("organization_kpp", "")
    if oid:
        org = by_id.get(oid)
        where = "organization_id"
    elif inn:
        matches = [o for o in by_inn.get(inn, []) if not kpp or o.kpp == kpp]
        where = "organization_inn"
        if len(matches) > 1:
            errors[where] = ["several organizations have this INN: give organization_kpp"]
            return None
        org = matches[0] if matches else None
    else:
        errors["organization_inn"] = ["give organization_inn or organization_id"]
        return None
    if org is None:
        errors[where] = ["no such organization"]
    elif not can_write(actor, org.access):
        errors[where] = ["you may not change this organization"]
    elif org.archived:
        errors[where] = ["the organization is archived"]
    return org if where not in errors else None


def import_contacts(
    actor: Actor,
    content: bytes,
    filename: str | None = None,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    allow_partial: bool = False,
) -> ImportReport:
    """Import contacts of existing organizations, found by INN (and KPP) or by id."""
    header, rows = read_rows(content, filename, fmt)
    columns, named, ignored = resolve_columns(header, CONTACT_FIELDS, mapping)
    if "name" not in named.values():
        raise RegistryInvalid("no column for the name", {"mapping": ["map a column to name"]})
    report = ImportReport("contacts", uuid.uuid4().hex, dry_run, columns=named, ignored=ignored)
    parsed = [(n, row_values(r, columns)) for n, r in enumerate(rows, start=2) if any(r)]
    report.total = len(parsed)
    by_inn = _organizations_by_inn(actor, {v.get("organization_inn", "") for _, v in parsed} - {""})
    ids = [
        v["organization_id"] for _, v in parsed if ObjectId.is_valid(v.get("organization_id", ""))
    ]
    by_id = {
        str(o.id): o
        for o in Organization.objects(
            __raw__={"_id": {"$in": [ObjectId(i) for i in set(ids)]}, **read_filter(actor)}
        )
    }
    good: list[tuple[Organization, dict[str, Any]]] = []
    for number, values in parsed:
        cleaned, field_errors = contacts.clean(values)
        errors = dict(field_errors)
        org = _contact_organization(values, by_inn, by_id, actor, errors)
        if errors or org is None:
            report.errors.append(RowError(number, errors))
        else:
            good.append((org, cleaned))
    report.valid = len(good)
    if not _finish(report, allow_partial):
        return report
    docs = []
    for org, cleaned in good:
        contact = Contact(organization=org.id, access=org.access, import_batch=report.batch)
        contacts.apply(contact, cleaned)
        stamp_created(contact, actor)
        docs.append(contact)
    _insert_batch(actor, docs, "contact", report)
    return report


# --------------------------------------------------------------------------- export


def _write(header: list[str], rows: Iterable[list[Any]], fmt: str) -> bytes:
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + text.getvalue()).encode("utf-8")  # the BOM tells Excel it is UTF-8


def _organization_row(org: Organization) -> list[Any]:
    row: list[Any] = [str(org.id)]
    for name in ORGANIZATION_FIELDS:
        if name in LIST_FIELDS:
            row.append("; ".join(getattr(org, name)))
        elif name == "restricted":
            row.append("да" if org.restricted else "")
        elif name.startswith("bank."):
            account = org.bank_accounts[0] if org.bank_accounts else None
            row.append(getattr(account, name[5:]) if account else "")
        elif "." in name:
            group, part = name.split(".", 1)
            address = getattr(org, group)
            row.append(getattr(address, part) if address else "")
        else:
            row.append(getattr(org, name))
    return row


def export_organizations(actor: Actor, fmt: str = "csv", **filters: Any) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the organizations a search finds."""
    if fmt not in FORMATS:
        raise RegistryInvalid("unknown format", {"format": ["csv or xlsx"]})
    where = organizations.search_filter(actor, **filters)
    found = Organization.objects(__raw__=where).order_by("sort_name").limit(MAX_EXPORT)
    content = _write(["id", *ORGANIZATION_FIELDS], (_organization_row(o) for o in found), fmt)
    return content, XLSX_TYPE if fmt == "xlsx" else CSV_TYPE, f"organizations.{fmt}"


def export_contacts(
    actor: Actor, fmt: str = "csv", organization: str | None = None
) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the contacts the actor may read."""
    if fmt not in FORMATS:
        raise RegistryInvalid("unknown format", {"format": ["csv or xlsx"]})
    where: dict[str, Any] = {"archived": False, **read_filter(actor)}
    if organization:
        where["organization"] = ObjectId(organization) if ObjectId.is_valid(organization) else None
    found = list(Contact.objects(__raw__=where).order_by("sort_name").limit(MAX_EXPORT))
    orgs = {
        o.id: o
        for o in Organization.objects(id__in=list({c.organization for c in found})).only(
            "id", "inn", "kpp"
        )
    }
    header = [
        "id",
        "organization_id",
        "organization_inn",
        "organization_kpp",
        "name",
        "position",
        "phones",
        "emails",
        "notes",
        "is_primary",
    ]
    rows = (
        [
            str(c.id),
            str(c.organization),
            orgs[c.organization].inn if c.organization in orgs else "",
            orgs[c.organization].kpp if c.organization in orgs else "",
            c.name,
            c.position,
            "; ".join(c.phones),
            "; ".join(c.emails),
            c.notes,
            "да" if c.is_primary else "",
        ]
        for c in found
    )
    return _write(header, rows, fmt), XLSX_TYPE if fmt == "xlsx" else CSV_TYPE, f"contacts.{fmt}"
