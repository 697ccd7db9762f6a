"""Domain exceptions of the CRM directories; each derives from one of engine's error kinds."""

from __future__ import annotations

from typing import Any

from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class RegistryInvalid(InvalidInput):
    """Input of a directory object is not acceptable; `errors` maps fields to messages."""

    code = "validation_error"


class ObjectNotFound(NotFound):
    """No such object, or the caller may not see it (we do not tell the two apart)."""

    code = "not_found"


class OrganizationNotFound(ObjectNotFound):
    code = "organization_not_found"


class ContactNotFound(ObjectNotFound):
    code = "contact_not_found"


class ActionNotFound(ObjectNotFound):
    code = "action_not_found"


class ProductNotFound(ObjectNotFound):
    code = "product_not_found"


class SupplierNotFound(ObjectNotFound):
    code = "supplier_not_found"


class ContractNotFound(ObjectNotFound):
    code = "contract_not_found"


class InvoiceNotFound(ObjectNotFound):
    code = "invoice_not_found"


class DeliveryNotFound(ObjectNotFound):
    code = "delivery_not_found"


class DuplicateOrganization(Conflict):
    """An organization with the same INN and KPP exists; `errors` points at it."""

    code = "duplicate_organization"

    def __init__(self, message: str, existing_id: str, existing_name: str):
        super().__init__(
            message,
            {
                "inn": ["an organization with this INN and KPP exists"],
                "existing": {"id": existing_id, "name": existing_name},
            },
        )
        self.existing_id = existing_id


class DuplicateObject(Conflict):
    """A unique key (a product code, a supplier's organization) is taken."""

    code = "duplicate"


class StaleObject(Conflict):
    """Someone else changed the object first; reload and retry."""

    code = "version_conflict"

    def __init__(self, message: str, current_version: int | None = None):
        super().__init__(message, {"current_version": current_version})


class ActiveContracts(Conflict):
    """The organization has active contracts, so it cannot be archived."""

    code = "active_contracts"

    def __init__(self, message: str, contracts: list[dict[str, Any]]):
        super().__init__(message, {"contracts": contracts})


class StageTransitionRefused(Conflict):
    """A contract cannot move from its stage to the requested one."""

    code = "stage_transition_refused"


class ObjectArchived(Conflict):
    """The object is archived; restore it first."""

    code = "archived"


class RegistryForbidden(PermissionDenied):
    """The caller may see the object but not change it."""

    code = "forbidden"


class ImportFailed(InvalidInput):
    """An import has bad rows (nothing was written); `errors` holds the report."""

    code = "import_failed"
