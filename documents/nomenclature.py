"""Case nomenclature: yearly versions of the list of case files, filing, closing, destruction.

A case file (дело) is open during its year and closes at the year's end. Its retention
period runs from 1 January of the year after it closed, so a 5-year case of 2020 may be
destroyed from 2026 on, and only by a destruction act; permanent cases never are.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from mongoengine.errors import NotUniqueError

from engine.actor import Actor
from engine.models import utcnow

from . import repository
from .errors import (
    CaseFileClosed,
    CaseFileNotFound,
    DocumentsInvalid,
    NomenclatureConflict,
    NomenclatureNotFound,
)
from .models import CaseFile, CaseNomenclature, DestructionAct


def create_nomenclature(
    actor: Actor, year: int, title: str = "", copy_cases: bool = True
) -> CaseNomenclature:
    """A new draft version for `year`; the previous version's cases are copied into it."""
    if not 1900 <= year <= 2200:
        raise DocumentsInvalid("the year is out of range", {"year": ["1900 to 2200"]})
    previous = CaseNomenclature.objects(year=year).order_by("-version").first()
    version = previous.version + 1 if previous else 1
    nomenclature = CaseNomenclature(
        year=year,
        version=version,
        title=title or f"Номенклатура дел на {year} год",
        created_by=actor.username,
        created_at=utcnow(),
    )
    try:
        nomenclature.save(force_insert=True)
    except NotUniqueError as exc:
        raise NomenclatureConflict(f"version {version} of {year} was created meanwhile") from exc
    if previous is not None and copy_cases:
        for case in CaseFile.objects(nomenclature_id=previous.id):
            CaseFile(
                nomenclature_id=nomenclature.id,
                year=year,
                index=case.index,
                title=case.title,
                retention_years=case.retention_years,
                retention_article=case.retention_article,
                volumes=case.volumes,
                status=case.status,
                closed_on=case.closed_on,
                documents_count=case.documents_count,
            ).save(force_insert=True)
    return nomenclature


def get_nomenclature(nomenclature_id: Any) -> CaseNomenclature:
    """A nomenclature version by id."""
    oid = repository.object_id(nomenclature_id)
    found = CaseNomenclature.objects(id=oid).first() if oid else None
    if found is None:
        raise NomenclatureNotFound(f"no nomenclature {nomenclature_id}")
    return found


def list_nomenclatures(year: int | None = None) -> list[CaseNomenclature]:
    """Nomenclature versions, newest year and version first."""
    found = CaseNomenclature.objects(year=year) if year else CaseNomenclature.objects()
    return list(found.order_by("-year", "-version"))


def current(year: int) -> CaseNomenclature:
    """The version in force for `year`: the latest approved one, else the latest draft."""
    approved = CaseNomenclature.objects(year=year, status="approved").order_by("-version").first()
    found = approved or CaseNomenclature.objects(year=year).order_by("-version").first()
    if found is None:
        raise NomenclatureNotFound(f"no nomenclature for {year}")
    return found


def approve(actor: Actor, nomenclature_id: Any) -> CaseNomenclature:
    """Approve a draft version; it becomes the one in force for its year."""
    nomenclature = get_nomenclature(nomenclature_id)
    if nomenclature.status == "approved":
        raise NomenclatureConflict("this version is approved already")
    nomenclature.status = "approved"
    nomenclature.approved_by = actor.username
    nomenclature.approved_at = utcnow()
    nomenclature.save()
    return nomenclature


def add_case(
    actor: Actor,
    nomenclature_id: Any,
    index: str,
    title: str,
    retention_years: int | None,
    retention_article: str = "",
    volumes: int = 1,
) -> CaseFile:
    """Add a case file; `retention_years=None` means it is kept permanently."""
    nomenclature = get_nomenclature(nomenclature_id)
    errors: dict[str, list[str]] = {}
    if not index or len(index) > 32:
        errors["index"] = ["1 to 32 characters"]
    if not title:
        errors["title"] = ["is required"]
    if retention_years is not None and retention_years < 1:
        errors["retention_years"] = ["at least 1, or null for permanent"]
    if volumes < 1:
        errors["volumes"] = ["at least 1"]
    if errors:
        raise DocumentsInvalid("the case file is invalid", errors)
    case = CaseFile(
        nomenclature_id=nomenclature.id,
        year=nomenclature.year,
        index=index,
        title=title,
        retention_years=retention_years,
        retention_article=retention_article,
        volumes=volumes,
    )
    try:
        case.save(force_insert=True)
    except NotUniqueError as exc:
        raise NomenclatureConflict(
            f"case index {index} exists in this nomenclature", {"index": ["taken"]}
        ) from exc
    return case


def update_case(
    actor: Actor,
    case_id: Any,
    index: str,
    title: str,
    retention_years: int | None,
    retention_article: str = "",
) -> CaseFile:
    """Change a case file's requisites; its index only while nothing is filed in it."""
    case = get_case(case_id)
    errors: dict[str, list[str]] = {}
    if not index or len(index) > 32:
        errors["index"] = ["1 to 32 characters"]
    elif index != case.index and case.documents_count:
        errors["index"] = ["cannot change: documents are filed in this case"]
    if not title:
        errors["title"] = ["is required"]
    if retention_years is not None and retention_years < 1:
        errors["retention_years"] = ["at least 1, or null for permanent"]
    if case.status == "destroyed":
        errors["status"] = ["the case is destroyed"]
    if errors:
        raise DocumentsInvalid("the case file is invalid", errors)
    try:
        changed = CaseFile.objects(id=case.id).update_one(
            set__index=index,
            set__title=title,
            set__retention_years=retention_years,
            set__retention_article=retention_article,
        )
    except NotUniqueError as exc:
        raise NomenclatureConflict(
            f"case index {index} exists in this nomenclature", {"index": ["taken"]}
        ) from exc
    if not changed:
        raise CaseFileNotFound(f"no case file {case_id}")
    case.reload()
    return case


def list_cases(nomenclature_id: Any) -> list[CaseFile]:
    """The case files of a nomenclature version, by index."""
    nomenclature = get_nomenclature(nomenclature_id)
    return list(CaseFile.objects(nomenclature_id=nomenclature.id).order_by("index"))


def get_case(case_id: Any) -> CaseFile:
    """A case file by id."""
    oid = repository.object_id(case_id)
    found = CaseFile.objects(id=oid).first() if oid else None
    if found is None:
        raise CaseFileNotFound(f"no case file {case_id}")
    return found


def find_case(year: int, index: str) -> CaseFile:
    """The case file with `index` in the nomenclature in force for `year`."""
    nomenclature = current(year)
    found = CaseFile.objects(nomenclature_id=nomenclature.id, index=index).first()
    if found is None:
        raise CaseFileNotFound(f"no case {index} in the nomenclature of {year}")
    return found


def add_volume(case_id: Any) -> CaseFile:
    """Open one more volume of a case file."""
    case = get_case(case_id)
    case.update(inc__volumes=1)
    case.reload()
    return case


def file_into(case: CaseFile, today: date | None = None) -> CaseFile:
    """Count one more document in an open case of the current year, or CaseFileClosed."""
    today = today or utcnow().date()
    if case.status == "open" and case.year < today.year:
        close_year(case.year, today)
        case.reload()
    if case.status != "open":
        raise CaseFileClosed(f"case {case.index} of {case.year} is {case.status}")
    if not CaseFile.objects(id=case.id, status="open").update_one(inc__documents_count=1):
        raise CaseFileClosed(f"case {case.index} of {case.year} closed meanwhile")
    case.reload()
    return case


def close_year(year: int, today: date | None = None) -> int:
    """Close every open case of `year` once the year has ended; return how many closed."""
    today = today or utcnow().date()
    if year >= today.year:
        raise NomenclatureConflict(f"{year} has not ended yet")
    return int(
        CaseFile.objects(year=year, status="open").update(
            set__status="closed", set__closed_on=date(year, 12, 31)
        )
    )


def destruction_candidates(today: date | None = None) -> list[CaseFile]:
    """Closed cases whose retention period has ended (candidates for a destruction act)."""
    today = today or utcnow().date()
    found = CaseFile.objects(status="closed", retention_years__ne=None).order_by("year", "index")
    return [case for case in found if case.year + case.retention_years < today.year]


def destroy(
    actor: Actor,
    act_number: str,
    case_ids: Iterable[Any],
    reason: str = "",
    today: date | None = None,
) -> DestructionAct:
    """Approve a destruction act for candidate cases; it is the only way a case is destroyed."""
    if not act_number:
        raise DocumentsInvalid("the act needs a number", {"act_number": ["is required"]})
    candidates = {case.id: case for case in destruction_candidates(today)}
    wanted = [repository.object_id(c) for c in case_ids]
    refused = [str(c) for c in wanted if c not in candidates]
    if refused or not wanted:
        raise NomenclatureConflict(
            "only closed cases whose retention ended may be destroyed",
            {"case_ids": refused or ["none given"]},
        )
    act = DestructionAct(
        number=act_number,
        case_file_ids=wanted,
        approved_by=actor.username,
        approved_at=utcnow(),
        reason=reason,
    )
    act.save(force_insert=True)
    CaseFile.objects(id__in=wanted, status="closed").update(
        set__status="destroyed", set__destruction_act_id=act.id
    )
    return act
