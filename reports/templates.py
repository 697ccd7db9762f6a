"""Users' report templates: DOCX (docxtpl, sandboxed Jinja) and XLSX (cell placeholders).

A template declares its data source; its placeholders are checked against the source at
upload, so a malformed template is refused with the line, cell or field named.

- DOCX: docxtpl's Jinja, as documents/templates.py renders contracts (the same bounded
  reading and zip checks, a sandboxed environment with autoescaping). `rows` is the first
  table of the source (`{% for r in rows %}`), `totals` its sums, `sections.<key>` every
  table; the parameters and the source's fields are top-level names.
- XLSX: a cell holding `{{period}}` (or `{{totals.amount}}`) is replaced by the value; the
  one row whose cells hold `{{row.<column>}}` is the data region, repeated once per row
  (rows below it move down; formulas are not rewritten). A cell that is exactly one
  placeholder keeps the value's type, so sums stay numbers.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import IO, Any

from docxtpl import DocxTemplate
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from accounts.access import make_access
from documents import files
from documents import templates as docx_templates
from documents.errors import TemplateRenderError, UnsafeTemplate
from documents.models import StoredFile
from engine.actor import Actor
from engine.models import utcnow
from engine.ooxml import PackageLimits, not_a_zip, package_problems

from . import render
from .errors import ReportTemplateInvalid, ReportTemplateNotFound
from .models import TEMPLATE_FORMATS, ReportTemplate
from .sources import SOURCES, ReportData, Source, clean_params, get_source

MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
MAX_CELLS = 200_000
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?\s*\}\}")
_ANY_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{\{|\{%")
_TAGS = re.compile(r"<[^>]+>")


def _invalid(message: str, where: str, problems: list[str]) -> ReportTemplateInvalid:
    return ReportTemplateInvalid(message, {where: problems})


# ------------------------------------------------------------------------------- DOCX


def _docx_syntax_error(exc: TemplateSyntaxError) -> ReportTemplateInvalid:
    """The Jinja error with the text around it (the XML tags stripped), for people."""
    near = ""
    if exc.source and exc.lineno:
        lines = exc.source.splitlines()
        if 0 < exc.lineno <= len(lines):
            near = " ".join(_TAGS.sub(" ", lines[exc.lineno - 1]).split())[:120]
    where = f"line {exc.lineno}" + (f" near “{near}”" if near else "")
    return _invalid(
        f"the template has a Jinja error at {where}: {exc.message}",
        "file",
        [f"{where}: {exc.message}"],
    )


def docx_placeholders(content: bytes, source: Source, label: str = "") -> list[str]:
    """The top-level names a DOCX template uses; every one must be known to the source."""
    docx_templates.check_docx(
        content, docx_templates.DocxLimits(max_bytes=MAX_TEMPLATE_BYTES), label
    )
    try:
        template = DocxTemplate(io.BytesIO(content))
        names = template.get_undeclared_template_variables(
            jinja_env=SandboxedEnvironment(autoescape=True)
        )
    except TemplateSyntaxError as exc:
        raise _docx_syntax_error(exc) from exc
    except Exception as exc:  # python-docx raises many kinds on a malformed package
        raise _invalid(f"the DOCX does not open: {exc}", "file", ["malformed DOCX"]) from exc
    unknown = sorted(set(names) - source.names())
    if unknown:
        raise _invalid(
            f"the template uses fields {source.key} does not have: {', '.join(unknown)}",
            "file",
            [f"unknown field “{name}”" for name in unknown],
        )
    return sorted(names)


def render_docx(content: bytes, data: ReportData) -> bytes:
    """Fill a DOCX template with a report's data."""
    try:
        return docx_templates.render(
            content, data.context(), docx_templates.DocxLimits(max_bytes=MAX_TEMPLATE_BYTES)
        )
    except (TemplateRenderError, UnsafeTemplate) as exc:
        raise ReportTemplateInvalid(exc.message, exc.errors) from exc


# ------------------------------------------------------------------------------- XLSX


def check_xlsx(content: bytes, label: str = "") -> None:
    """Refuse an XLSX that is too large, decompresses too much or holds an XML bomb,
    before openpyxl opens it (engine/ooxml.py)."""
    limits = PackageLimits(max_bytes=MAX_TEMPLATE_BYTES)
    problems = package_problems(content, limits, ("xl/workbook.xml",), kind="XLSX")
    if problems:
        what = f"the template {label}" if label else "the XLSX"
        shown = ["not an XLSX"] if problems == [not_a_zip("XLSX")] else problems
        raise _invalid(f"{what} is refused: " + "; ".join(problems), "file", shown)


def _open_xlsx(content: bytes, label: str = "") -> Any:
    check_xlsx(content, label)
    try:
        return load_workbook(io.BytesIO(content))
    except Exception as exc:  # openpyxl raises many kinds on a malformed package
        raise _invalid(f"the XLSX does not open: {exc}", "file", ["malformed XLSX"]) from exc


def _scan_sheet(
    sheet: Worksheet, source: Source, problems: dict[str, list[str]], used: set[str]
) -> int | None:
    """Check a sheet's placeholders; return the data row's number (or None)."""
    columns = {c.key for c in source.columns}
    names = source.names()
    data_rows: set[int] = set()
    for row in sheet.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str) or "{" not in cell.value:
                continue
            where = f"{sheet.title}!{cell.coordinate}"
            for tag in _ANY_TAG.findall(cell.value):
                match = _PLACEHOLDER.fullmatch(tag)
                if match is None:
                    problems.setdefault(where, []).append(
                        f"malformed placeholder “{tag}”: write {{{{name}}}} or {{{{row.field}}}}"
                    )
                    continue
                name, attr = match.groups()
                if name == "row":
                    if attr is None or attr not in columns:
                        problems.setdefault(where, []).append(
                            f"unknown row field “{attr or ''}” "
                            f"(one of: {', '.join(sorted(columns))})"
                        )
                    data_rows.add(cell.row)
                    used.add(f"row.{attr}")
                elif name == "totals":
                    if attr is None or attr not in columns:
                        problems.setdefault(where, []).append(
                            f"unknown totals field “{attr or ''}”"
                        )
                    used.add(f"totals.{attr}")
                elif name not in names or attr is not None:
                    problems.setdefault(where, []).append(
                        f"unknown field “{match.group(0)[2:-2].strip()}”"
                    )
                else:
                    used.add(name)
    if len(data_rows) > 1:
        problems.setdefault(sheet.title, []).append(
            f"{{{{row.…}}}} placeholders on rows {sorted(data_rows)}: one data row per sheet"
        )
    return min(data_rows) if data_rows else None


def xlsx_placeholders(content: bytes, source: Source, label: str = "") -> list[str]:
    """The placeholders an XLSX template uses, every one checked against the source."""
    book = _open_xlsx(content, label)
    problems: dict[str, list[str]] = {}
    used: set[str] = set()
    cells = 0
    for sheet in book.worksheets:
        cells += sheet.max_row * sheet.max_column
        if cells > MAX_CELLS:
            raise _invalid("the template has too many cells", "file", [f"at most {MAX_CELLS}"])
        _scan_sheet(sheet, source, problems, used)
    if problems:
        first = next(iter(problems.items()))
        raise ReportTemplateInvalid(
            f"the template is malformed at {first[0]}: {first[1][0]}", problems
        )
    return sorted(used)


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _fill(text: str, lookup: dict[str, Any], row: dict[str, Any] | None) -> Any:
    def resolve(match: re.Match[str]) -> Any:
        name, attr = match.groups()
        if name == "row":
            return (row or {}).get(attr or "")
        if name == "totals":
            return lookup.get("totals", {}).get(attr or "")
        return lookup.get(name)

    whole = _PLACEHOLDER.fullmatch(text.strip())
    if whole:
        return _value(resolve(whole))
    return _PLACEHOLDER.sub(lambda m: "" if (v := resolve(m)) is None else str(v), text)


def render_xlsx(content: bytes, data: ReportData) -> bytes:
    """Fill an XLSX template: placeholders replaced, the data row repeated per row."""
    book = _open_xlsx(content)
    context = data.context()
    rows = data.rows
    for sheet in book.worksheets:
        problems: dict[str, list[str]] = {}
        data_row = _scan_sheet(sheet, get_source(data.source), problems, set())
        if problems:
            raise ReportTemplateInvalid("the template is malformed", problems)
        for row in sheet.iter_rows():
            for cell in row:
                if cell.row != data_row and isinstance(cell.value, str) and "{{" in cell.value:
                    cell.value = _fill(cell.value, context, None)
                    render.as_text_cells([cell])
        if data_row is None:
            continue
        template = [(cell.column, cell.value, cell._style) for cell in sheet[data_row]]
        if len(rows) > 1:
            sheet.insert_rows(data_row + 1, len(rows) - 1)
        for offset, item in enumerate(rows):
            for column, value, style in template:
                target = sheet.cell(data_row + offset, column)
                target._style = style  # copy the style as openpyxl's own copy does
                target.value = _fill(value, context, item) if isinstance(value, str) else value
                if isinstance(value, str) and "{{" in value:
                    render.as_text_cells([target])
        if not rows:
            for column, _, _ in template:
                sheet.cell(data_row, column).value = None
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------- the store


def upload_template(
    actor: Actor,
    name: str,
    filename: str,
    stream: IO[bytes],
    source_key: str,
    params: dict[str, Any] | None = None,
    description: str = "",
    max_bytes: int = MAX_TEMPLATE_BYTES,
) -> ReportTemplate:
    """Check and store a DOCX or XLSX report template of a data source."""
    fmt = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    errors: dict[str, list[str]] = {}
    if fmt not in TEMPLATE_FORMATS:
        errors["file"] = ["a .docx or .xlsx file"]
    if not name.strip():
        errors["name"] = ["is required"]
    source = SOURCES.get(source_key)
    if source is None:
        errors["source"] = ["not a known data source"]
    if errors or source is None:
        raise ReportTemplateInvalid("the template is refused", errors)
    defaults = dict(params or {})
    clean_params(source, defaults)  # default parameters must be valid ones
    content = docx_templates.read_bounded(stream, max_bytes)
    label = f"“{name.strip()}” ({filename})"
    found = (
        docx_placeholders(content, source, label)
        if fmt == "docx"
        else xlsx_placeholders(content, source, label)
    )
    stored = files.upload(
        actor,
        filename,
        io.BytesIO(content),
        max_bytes=max_bytes,
        access=make_access(read=["*"], write=[actor.username]),
    )
    template = ReportTemplate(
        name=name.strip(),
        format=fmt,
        source=source.key,
        params=defaults,
        description=description,
        file_id=stored.id,
        placeholders=found,
        uploaded_by=actor.username,
        created_at=utcnow(),
    )
    template.save(force_insert=True)
    return template


def get_template(template_id: Any) -> ReportTemplate:
    """An active template by id."""
    try:
        found = ReportTemplate.objects(id=str(template_id), active=True).first()
    except Exception:  # a malformed id finds nothing
        found = None
    if found is None:
        raise ReportTemplateNotFound(f"no report template {template_id}")
    return found


def list_templates(source: str = "") -> list[ReportTemplate]:
    """Active templates, by name."""
    found = ReportTemplate.objects(active=True)
    if source:
        found = found.filter(source=source)
    return list(found.order_by("name"))


def template_bytes(template: ReportTemplate) -> bytes:
    """The stored template file."""
    stored = StoredFile.objects(id=template.file_id).first()
    if stored is None:
        raise ReportTemplateNotFound(f"the file of report template {template.id} is missing")
    return files.read_bytes(files.version_of(stored))


def render_template(template: ReportTemplate, data: ReportData) -> bytes:
    """Fill a stored template with a report's data, in the template's own format."""
    content = template_bytes(template)
    return render_docx(content, data) if template.format == "docx" else render_xlsx(content, data)
