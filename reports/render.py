"""Built-in layouts: a report's tables as XLSX (openpyxl), DOCX (python-docx) or PDF (fpdf2).

PDF is drawn by fpdf2, a pure-Python library, with the DejaVu Sans TrueType font (Debian's
fonts-dejavu-core, installed by `make install`): nothing to start, and Cyrillic text works.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from docx import Document as DocxDocument
from fpdf import FPDF
from openpyxl import Workbook
from openpyxl.styles import Font

from .errors import ReportInvalid
from .sources import Column, ReportData

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
}
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
MONEY_FORMAT = "#,##0.00"


def cell_value(value: Any) -> Any:
    """A value as a spreadsheet cell holds it (money stays a number)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def as_text_cells(cells: Any) -> None:
    """Data never becomes a formula: openpyxl reads a string starting with "=" as one."""
    for cell in cells:
        if cell.data_type == "f":
            cell.data_type = "s"


def _csv_safe(value: Any) -> Any:
    # A spreadsheet program runs a CSV cell starting with = + - @ as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def text_of(value: Any, kind: str = "text") -> str:
    """A value as printed in DOCX and PDF tables."""
    if value is None:
        return ""
    if kind == "money" and isinstance(value, Decimal | int | float):
        return f"{Decimal(value):,.2f}".replace(",", " ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header_lines(data: ReportData) -> list[str]:
    lines = [f"Period: {data.fields.get('period', '')}"]
    for key, value in data.params.items():
        if value not in (None, "") and key not in ("date_from", "date_to"):
            lines.append(f"{key}: {value}")
    lines.append(f"Generated: {data.fields.get('generated_at', '')} UTC")
    return lines


def xlsx(data: ReportData, progress: Callable[[int], None] | None = None) -> bytes:
    """One sheet: the title, the parameters, then each table with its totals row."""
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = data.source[:31]
    sheet.append([data.title])
    sheet["A1"].font = Font(bold=True, size=14)
    for line in _header_lines(data):
        sheet.append([line])
    for section in data.sections:
        sheet.append([])
        sheet.append([section.title])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        sheet.append([c.title for c in section.columns])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for i, row in enumerate(section.rows):
            sheet.append([cell_value(row.get(c.key)) for c in section.columns])
            as_text_cells(sheet[sheet.max_row])
            _money_format(sheet, section.columns)
            if progress and i % 5000 == 0:
                progress(i * 100 // max(len(section.rows), 1))
        if section.totals:
            sheet.append(
                [
                    "Total" if i == 0 else cell_value(section.totals.get(c.key))
                    for i, c in enumerate(section.columns)
                ]
            )
            _money_format(sheet, section.columns)
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGHIJ", (34, 16, 16, 16, 16, 16, 16, 16, 16, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _money_format(sheet: Any, columns: list[Column]) -> None:
    row = sheet.max_row
    for i, column in enumerate(columns, start=1):
        if column.kind == "money":
            sheet.cell(row, i).number_format = MONEY_FORMAT


def docx(data: ReportData, progress: Callable[[int], None] | None = None) -> bytes:
    """A heading, the parameters, then each table (bold totals row)."""
    document = DocxDocument()
    document.add_heading(data.title, level=1)
    for line in _header_lines(data):
        document.add_paragraph(line)
    scalars = {
        k: v
        for k, v in data.fields.items()
        if k not in ("period", "generated_at") and not isinstance(v, list | dict)
    }
    for key, value in scalars.items():
        document.add_paragraph(f"{key}: {text_of(value)}")
    for section in data.sections:
        document.add_heading(section.title, level=2)
        table = document.add_table(rows=1, cols=len(section.columns))
        table.style = "Table Grid"
        for cell, column in zip(table.rows[0].cells, section.columns, strict=True):
            cell.text = column.title
        for i, row in enumerate(section.rows):
            cells = table.add_row().cells
            for cell, column in zip(cells, section.columns, strict=True):
                cell.text = text_of(row.get(column.key), column.kind)
            if progress and i % 1000 == 0:
                progress(i * 100 // max(len(section.rows), 1))
        if section.totals:
            cells = table.add_row().cells
            for i, (cell, column) in enumerate(zip(cells, section.columns, strict=True)):
                cell.text = (
                    "Total" if i == 0 else text_of(section.totals.get(column.key), column.kind)
                )
                for run in cell.paragraphs[0].runs:
                    run.bold = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def font_path(name: str = "DejaVuSans.ttf") -> Path:
    """The DejaVu font file (PDF output needs a font with Cyrillic)."""
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise ReportInvalid(
        "PDF output needs the DejaVu fonts (Debian package fonts-dejavu-core)",
        {"format": ["pdf is not available on this server"]},
    )


def pdf(data: ReportData, progress: Callable[[int], None] | None = None) -> bytes:
    """A landscape A4 document: title, parameters, each table with a totals row."""
    doc = FPDF(orientation="L", unit="mm", format="A4")
    doc.add_font("DejaVu", "", str(font_path()))
    doc.add_font("DejaVu", "B", str(font_path("DejaVuSans-Bold.ttf")))
    doc.set_auto_page_break(auto=True, margin=12)
    doc.add_page()
    doc.set_font("DejaVu", "B", 14)
    doc.cell(0, 8, data.title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    for line in _header_lines(data):
        doc.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    for section in data.sections:
        doc.ln(3)
        doc.set_font("DejaVu", "B", 11)
        doc.cell(0, 7, section.title, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("DejaVu", "", 8)
        count = len(section.columns)
        first = 70 if count > 4 else 90
        rest = (doc.epw - first) / max(count - 1, 1)
        widths = [first, *([rest] * (count - 1))]
        with doc.table(col_widths=widths, text_align="LEFT", first_row_as_headings=True) as table:
            table.row([c.title for c in section.columns])
            for i, row in enumerate(section.rows):
                table.row([text_of(row.get(c.key), c.kind) for c in section.columns])
                if progress and i % 1000 == 0:
                    progress(i * 100 // max(len(section.rows), 1))
            if section.totals:
                table.row(
                    [
                        "Total" if i == 0 else text_of(section.totals.get(c.key), c.kind)
                        for i, c in enumerate(section.columns)
                    ]
                )
    return bytes(doc.output())


def csv_text(columns: list[Column], rows: list[dict[str, Any]]) -> bytes:
    """A table as CSV (UTF-8 with a BOM so that spreadsheet programs read Cyrillic)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.title for c in columns])
    for row in rows:
        writer.writerow([_csv_safe(cell_value(row.get(c.key))) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


RENDERERS: dict[str, Callable[..., bytes]] = {"xlsx": xlsx, "docx": docx, "pdf": pdf}


def render(data: ReportData, fmt: str, progress: Callable[[int], None] | None = None) -> bytes:
    """The report in a built-in layout of `fmt` (xlsx, docx, pdf)."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise ReportInvalid(
            "unknown output format", {"format": [f"one of: {', '.join(RENDERERS)}"]}
        )
    return renderer(data, progress)
