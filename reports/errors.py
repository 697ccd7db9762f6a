"""Domain exceptions of reports; webapi maps each kind to one HTTP status."""

from __future__ import annotations

from engine.errors import Conflict, InvalidInput, NotFound


class ReportNotFound(NotFound):
    """No such built-in report (data source)."""

    code = "report_not_found"


class ReportInvalid(InvalidInput):
    """The parameters of a report are not acceptable; `errors` names them."""

    code = "report_invalid"


class ReportTemplateNotFound(NotFound):
    code = "report_template_not_found"


class ReportTemplateInvalid(InvalidInput):
    """An uploaded template is malformed; `errors` names the line, cell or field."""

    code = "report_template_invalid"


class ReportRunNotFound(NotFound):
    code = "report_run_not_found"


class ReportNotReady(Conflict):
    """The report's file is asked for before its rendering has finished."""

    code = "report_not_ready"
