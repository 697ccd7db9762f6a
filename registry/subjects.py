"""The directories' subject types: what procedure operators may do to an organization or a
contract (engine/subjects.py). Importing this module registers both.

Every change goes through the directory's own service, so its rules (field checks, stage
transitions, frozen closed contracts) and its audit trail apply.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from engine import subjects
from engine.actor import Actor

from . import contracts, organizations
from .errors import RegistryInvalid
from .models import Contract, Organization

_DATE_FIELDS = ("date", "starts_on", "ends_on")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


class OrganizationSubject(subjects.SubjectType):
    """A counterparty: fields and the extra readers and writers of its access list."""

    name = "organization"

    def _load(self, object_id: str) -> Organization:
        return organizations.get(Actor("system", is_admin=True), object_id)

    def values(self, object_id: str) -> dict[str, Any]:
        org = self._load(object_id)
        values = organizations.values_of(org)
        return {
            "id": str(org.id),
            "title": org.display_name,
            "display_name": org.display_name,
            **values,
            "access": {"read": list(org.access.read), "write": list(org.access.write)},
        }

    def set_fields(self, actor: Actor, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        organizations.update(actor, object_id, fields)
        return self.values(object_id)

    def _change(
        self, actor: Actor, object_id: str, principals: list[str], level: str, grant: bool
    ) -> list[str]:
        org = self._load(object_id)
        key = "writers" if level == "write" else "readers"
        current = list(getattr(org, key))
        if grant:
            changed = [*current, *(p for p in principals if p not in current)]
        else:
            changed = [p for p in current if p not in principals]
        changes: dict[str, Any] = {key: changed}
        if not grant and level == "read":
            # Revoking read takes away writing too: a writer always reads.
            changes["writers"] = [p for p in org.writers if p not in principals]
        updated = organizations.update(actor, object_id, changes)
        return list(getattr(updated.access, level))

    def grant_access(
        self, actor: Actor, object_id: str, principals: list[str], level: str
    ) -> list[str]:
        return self._change(actor, object_id, principals, level, grant=True)

    def revoke_access(
        self, actor: Actor, object_id: str, principals: list[str], level: str
    ) -> list[str]:
        return self._change(actor, object_id, principals, level, grant=False)


class ContractSubject(subjects.SubjectType):
    """A contract: fields, stage (its lifecycle's transitions), access list, files."""

    name = "contract"

    def _load(self, object_id: str) -> Contract:
        return contracts.get(Actor("system", is_admin=True), object_id)

    def values(self, object_id: str) -> dict[str, Any]:
        contract = self._load(object_id)
        org = Organization.objects(id=contract.organization).only("name", "short_name").first()
        org_name = org.display_name if org is not None else ""
        return {
            "id": str(contract.id),
            "title": f"{contract.number} {org_name}".strip(),
            "number": contract.number,
            "role": contract.role,
            "date": _day(contract.date),
            "subject": contract.subject,
            # A number, so that gateway conditions and DMN cells compare it; the exact
            # text is `amount_text`.
            "amount": float(contract.amount),
            "amount_text": f"{contract.amount:.2f}",
            "currency": contract.currency,
            "vat_rate": contract.vat_rate,
            "starts_on": _day(contract.starts_on),
            "ends_on": _day(contract.ends_on),
            "stage": contract.stage,
            "responsible": contract.responsible,
            "organization": str(contract.organization),
            "organization_name": org_name,
            "organization_full_name": org.name if org is not None else "",
            "files": list(contract.files),
            "notes": contract.notes,
        }

    def set_fields(self, actor: Actor, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        changes = dict(fields)
        for key in _DATE_FIELDS:
            value = changes.get(key)
            if isinstance(value, str) and value:
                try:
                    changes[key] = date.fromisoformat(value[:10])
                except ValueError as exc:
                    raise RegistryInvalid(
                        "the contract has invalid fields", {key: ["not an ISO date"]}
                    ) from exc
        unknown = sorted(set(changes) - set(contracts.EDITABLE))
        if unknown:
            raise RegistryInvalid(
                "the contract has invalid fields", {k: ["unknown field"] for k in unknown}
            )
        contracts.update(actor, object_id, changes)
        return self.values(object_id)

    def set_stage(self, actor: Actor, object_id: str, stage: str) -> str:
        return str(contracts.change_stage(actor, object_id, stage).stage)

    def grant_access(
        self, actor: Actor, object_id: str, principals: list[str], level: str
    ) -> list[str]:
        contract = contracts.change_access(actor, object_id, principals, level, grant=True)
        return list(getattr(contract.access, level))

    def revoke_access(
        self, actor: Actor, object_id: str, principals: list[str], level: str
    ) -> list[str]:
        contract = contracts.change_access(actor, object_id, principals, level, grant=False)
        return list(getattr(contract.access, level))

    def attach_file(self, actor: Actor, object_id: str, file_id: str) -> None:
        files = list(self._load(object_id).files)
        if file_id not in files:
            contracts.update(actor, object_id, {"files": [*files, file_id]})

    def file_ids(self, object_id: str) -> list[str]:
        return list(self._load(object_id).files)


ORGANIZATION = subjects.register(OrganizationSubject())
CONTRACT = subjects.register(ContractSubject())
