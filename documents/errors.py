"""Domain exceptions of the records office; each derives from one kind in engine.errors."""

from __future__ import annotations

from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class DocumentsInvalid(InvalidInput):
    """Input for a records-office object is not acceptable; `errors` names the fields."""

    code = "validation_error"


class FileNotFound(NotFound):
    code = "file_not_found"


class FileTooLarge(InvalidInput):
    """An uploaded file is larger than the configured limit."""

    code = "payload_too_large"


class FileLocked(Conflict):
    """The file is checked out by someone else."""

    code = "file_locked"


class FileNotLocked(Conflict):
    """Check-in of a file nobody (or somebody else) has checked out."""

    code = "file_not_locked"


class DocumentNotFound(NotFound):
    """No such office document, or the caller may not see it (not told apart)."""

    code = "document_not_found"


class NotAllowed(PermissionDenied):
    """The caller may see the object but not change it."""

    code = "forbidden"


class JournalNotFound(NotFound):
    code = "journal_not_found"


class JournalExists(Conflict):
    code = "journal_exists"


class NumberTemplateInvalid(InvalidInput):
    """A number template has unknown tokens, bad padding or no sequence."""

    code = "number_template_invalid"


class ReservationNotFound(NotFound):
    code = "reservation_not_found"


class ReservationNotOpen(Conflict):
    """The reserved number was used or cancelled already."""

    code = "reservation_not_open"


class CardNotFound(NotFound):
    code = "card_not_found"


class AlreadyRegistered(Conflict):
    """The document already has a registration card."""

    code = "already_registered"


class CardChanged(Conflict):
    """The card was changed by someone else since the editor loaded it."""

    code = "card_changed"


class AppealChanged(Conflict):
    """The appeal was changed by someone else since it was read; `errors.current_version`."""

    code = "appeal_changed"


class DocumentChanged(Conflict):
    """The document was changed by someone else since the editor loaded it."""

    code = "document_changed"


class CardStateConflict(Conflict):
    """The card's status does not allow this step."""

    code = "card_state_conflict"


class NoSigningKey(Conflict):
    """The user has no active signing key: issue one first."""

    code = "no_signing_key"


class SignatureNotFound(NotFound):
    code = "signature_not_found"


class AppealNotFound(NotFound):
    code = "appeal_not_found"


class AppealStateConflict(Conflict):
    """The appeal's state does not allow this step (answered, extended already …)."""

    code = "appeal_state_conflict"


class NomenclatureNotFound(NotFound):
    code = "nomenclature_not_found"


class CaseFileNotFound(NotFound):
    code = "case_file_not_found"


class CaseFileClosed(Conflict):
    """The case file is closed (or destroyed): nothing more may be filed in it."""

    code = "case_file_closed"


class NomenclatureConflict(Conflict):
    """A nomenclature or case index exists already, or the step is out of order."""

    code = "nomenclature_conflict"


class TemplateNotFound(NotFound):
    code = "template_not_found"


class UnsafeTemplate(InvalidInput):
    """An uploaded DOCX is too large, has too many entries or decompresses too much."""

    code = "unsafe_template"


class TemplateRenderError(InvalidInput):
    """The template does not render with the given data."""

    code = "template_render_error"


class ProcedureNotDeployed(Conflict):
    """The procedure this step starts is not deployed."""

    code = "procedure_not_deployed"
