"""Every built-in report rendered on the demo data, its figures checked against values
computed here from the stored objects; users' DOCX and XLSX templates; malformed ones."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import docx
import pytest
from argon2 import PasswordHasher
from docx import Document as DocxDocument
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader

from accounts import service as accounts
from documents import demo as documents_demo
from documents.models import CitizenAppeal, RegistrationCard, RegistrationJournal
from engine import jobs, repository
from engine.actor import Actor
from mail import demo as mail_demo
from mail.models import Assignment
from registry import actions as registry_actions
from registry import demo as registry_demo
from registry.models import Action, Contract, Delivery, Invoice, Organization
from reports import dashboards, render, service, sources, templates
from reports.errors import ReportInvalid, ReportTemplateInvalid
from tests.mail_helpers import deploy_procedures, make_user
from webapi import database

ADMIN = Actor("root", is_admin=True)
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def demo(db_uri: str, db_name: str) -> Iterator[dict[str, Actor]]:
    """The three demos, loaded once for the module (the reports only read them)."""
    hasher = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    database.connect(db_uri, db_name)
    database.drop_all()
    deploy_procedures()
    people = {
        name: make_user(name, groups)
        for name, groups in (
            ("admin", ("designers",)),
            ("manager", ("sales",)),
            ("clerk", ("office",)),
            ("support", ("support",)),
        )
    }
    list(documents_demo.load(people["clerk"], "demo-secret"))
    list(registry_demo.load(people["manager"]))
    list(mail_demo.load(people))
    yield people
    accounts._hasher = hasher
    database.disconnect()


def _file(actor: Actor, run: Any) -> bytes:
    assert run.status == "done", (run.error, run.errors)
    chunks, _, _, size = service.open_file(actor, run.id)
    content = b"".join(chunks)
    assert len(content) == size
    return content


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _row(rows: list[list[Any]], first: str, after: str | None = None) -> list[Any]:
    """The first row whose first cell is `first` (after the row whose first cell is `after`)."""
    started = after is None
    for row in rows:
        if not started:
            started = row[0] == after
            continue
        if row[0] == first:
            return row
    raise AssertionError(f"no row {first!r}")


def _docx_tables(content: bytes) -> list[list[list[str]]]:
    document = DocxDocument(io.BytesIO(content))
    return [[[c.text for c in row.cells] for row in table.rows] for table in document.tables]


def _rub(minor: int) -> float:
    return float(Decimal(minor) / 100)


def _printed(minor: int) -> str:
    return f"{Decimal(minor) / 100:,.2f}".replace(",", " ")


def test_contracts_by_stage_xlsx(demo: dict[str, Actor]) -> None:
    run = service.start(ADMIN, "contracts_by_stage", params={"date_from": "2025-01-01"})
    rows = _xlsx_rows(_file(ADMIN, run))
    expected: Counter[tuple[str, str]] = Counter()
    sums: Counter[tuple[str, str]] = Counter()
    for c in Contract.objects(archived=False, date__gte=datetime(2025, 1, 1)):
        expected[(c.stage, c.role)] += 1
        sums[(c.stage, c.role)] += c.amount_minor
    assert sum(expected.values()) > 10
    for stage in ("draft", "in_force", "closed"):
        row = _row(rows, stage)
        assert row[1] == expected[(stage, "executor")]
        assert row[2] == pytest.approx(_rub(sums[(stage, "executor")]))
        assert row[3] == expected[(stage, "customer")]
        assert row[4] == pytest.approx(_rub(sums[(stage, "customer")]))
    total = _row(rows, "Total")
    assert total[5] == sum(expected.values())
    assert total[6] == pytest.approx(_rub(sum(sums.values())))


def test_invoices_docx(demo: dict[str, Actor]) -> None:
    run = service.start(ADMIN, "invoices", params={"as_of": AS_OF}, fmt="docx")
    table = _docx_tables(_file(ADMIN, run))[0]
    as_of = datetime.fromisoformat(AS_OF)
    for role in ("executor", "customer"):
        found = [i for i in Invoice.objects(role=role, archived=False) if i.status != "cancelled"]
        overdue = [
            i
            for i in found
            if i.status in ("issued", "partially_paid") and i.due_on and i.due_on < as_of.date()
        ]
        row = next(r for r in table if r[0] == role)
        assert row[1] == str(len(found))
        assert row[2] == _printed(sum(i.amount_minor for i in found))
        assert row[3] == str(sum(1 for i in found if i.status == "paid"))
        assert row[4] == _printed(sum(i.paid_minor for i in found))
        assert row[5] == str(len(overdue))
        assert row[6] == _printed(sum(i.amount_minor - i.paid_minor for i in overdue))
    assert table[-1][0] == "Total"


def test_deliveries_pdf(demo: dict[str, Actor]) -> None:
    run = service.start(ADMIN, "deliveries", params={"role": "customer"}, fmt="pdf")
    content = _file(ADMIN, run)
    pages = PdfReader(io.BytesIO(content)).pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)  # cells wrap
    total = 0
    products: set[str] = set()
    for delivery in Delivery.objects(role="customer", status__ne="cancelled", archived=False):
        for item in delivery.items:
            total += round(Decimal(item.quantity) * item.price_minor)
            products.add(item.name)
    assert total > 0
    assert "Deliveries by product and counterparty" in text
    assert _printed(total) in text
    assert sorted(products)[0] in text


def test_actions_per_manager_xlsx(demo: dict[str, Actor]) -> None:
    run = service.start(ADMIN, "actions", params={"manager": "manager"})
    rows = _xlsx_rows(_file(ADMIN, run))
    kinds = Counter(a.kind for a in Action.objects(by="manager"))
    results = Counter((a.kind, a.result) for a in Action.objects(by="manager"))
    kind, result = next(iter(results))
    row = next(r for r in rows if r[:3] == ["manager", kind, result])
    assert row[3] == results[(kind, result)]
    header = next(i for i, r in enumerate(rows) if r[:2] == ["Manager", "Calls"])
    per_manager = rows[header + 1]  # the second table: one row per manager
    assert per_manager[0] == "manager"
    assert per_manager[1] == kinds["call_in"] + kinds["call_out"]
    assert per_manager[4] == sum(kinds.values())


def test_document_flow_xlsx(demo: dict[str, Actor]) -> None:
    run = service.start(ADMIN, "document_flow", params={"as_of": AS_OF})
    rows = _xlsx_rows(_file(ADMIN, run))
    for journal in RegistrationJournal.objects:
        cards = list(RegistrationCard.objects(journal_id=journal.id))
        if not cards:
            continue
        executed = [c for c in cards if c.status in ("executed", "filed")]
        on_time = [
            c
            for c in executed
            if c.deadline is None or (c.executed_at or c.updated_at).date() <= c.deadline
        ]
        row = _row(rows, f"{journal.code} {journal.name}")
        assert row[1:4] == [len(cards), len(on_time), len(executed) - len(on_time)]


def test_appeals_docx(demo: dict[str, Actor]) -> None:
    run = service.start(ADMIN, "appeals", params={"as_of": AS_OF}, fmt="docx")
    content = _file(ADMIN, run)
    table = _docx_tables(content)[0]
    by_key = Counter((a.topic, a.channel) for a in CitizenAppeal.objects)
    for (topic, channel), count in by_key.items():
        row = next(r for r in table if r[0] == topic and r[1] == channel)
        assert row[2] == str(count)
    assert table[-1][2] == str(CitizenAppeal.objects.count())


def test_assignments_per_executor_xlsx(demo: dict[str, Actor]) -> None:
    manager = demo["manager"]
    run = service.start(manager, "assignments")
    rows = _xlsx_rows(_file(manager, run))
    visible = list(Assignment.objects(viewers="manager"))
    assert visible
    for executor, count in Counter(a.executor for a in visible).items():
        assert _row(rows, executor)[1] == count
    # The issuer of the parent does not see nested assignments: the admin sees fewer.
    admin_rows = _xlsx_rows(_file(demo["admin"], service.start(demo["admin"], "assignments")))
    assert _row(admin_rows, "Total")[1] == Assignment.objects(viewers="admin").count()
    assert _row(admin_rows, "Total")[1] < _row(rows, "Total")[1]


def test_process_statistics_pdf(demo: dict[str, Actor]) -> None:
    run = service.start(ADMIN, "processes", fmt="pdf")
    text = PdfReader(io.BytesIO(_file(ADMIN, run))).pages[0].extract_text()
    started = Counter(d["process_key"] for d in repository.instances().find({}, {"process_key": 1}))
    for key in started:
        assert key in text
    assert f"Total {sum(started.values())}" in " ".join(text.split())


def test_organization_dossier_docx(demo: dict[str, Actor]) -> None:
    org = Organization.objects.order_by("sort_name").first()
    run = service.start(
        ADMIN, "organization_dossier", params={"organization": str(org.id)}, fmt="docx"
    )
    content = _file(ADMIN, run)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
    assert f"inn: {org.inn}" in text and org.name in text
    contracts = _docx_tables(content)[0]
    numbers = {c.number for c in Contract.objects(organization=org.id, archived=False)}
    assert {r[0] for r in contracts[1:-1]} == numbers


def test_dashboard_series_and_export(demo: dict[str, Actor]) -> None:
    funnel = dashboards.series(ADMIN, "sales_funnel", {})
    in_force = funnel["labels"].index("in_force")
    assert (
        funnel["datasets"][0]["data"][in_force]
        == Contract.objects(role="executor", stage="in_force", archived=False).count()
    )
    csv = dashboards.export(funnel, "csv").decode("utf-8-sig").splitlines()
    assert csv[0] == "Label,Contracts,Amount" and csv[1 + in_force].startswith("in_force,")
    week = dashboards.series(ADMIN, "documents_per_week", {"date_from": "2026-01-01"})
    assert (
        sum(week["datasets"][0]["data"])
        == RegistrationCard.objects(registered_on__gte=date(2026, 1, 1)).count()
    )
    assert set(dashboards.CHARTS) == {
        "sales_funnel",
        "calls_per_day",
        "overdue_assignments",
        "documents_per_week",
        "appeals_compliance",
    }
    for key in dashboards.CHARTS:
        data = dashboards.series(demo["manager"], key, {})
        assert len(data["labels"]) == len(data["datasets"][0]["data"])


def test_a_background_run_reports_progress_and_its_file(demo: dict[str, Actor]) -> None:
    run = service.start(ADMIN, "contracts_by_stage", fmt="pdf", background=True)
    assert (run.status, run.progress, run.file_id) == ("pending", 0, None)
    with pytest.raises(Exception, match="pending"):
        service.open_file(ADMIN, run.id)
    assert jobs.run_due("test-worker") >= 1
    run.reload()
    assert (run.status, run.progress) == ("done", 100)
    assert _file(ADMIN, run).startswith(b"%PDF-")
    with pytest.raises(Exception, match="no report run"):
        service.get_run(Actor("mallory"), run.id)


def test_bad_parameters_are_named(demo: dict[str, Actor]) -> None:
    with pytest.raises(ReportInvalid) as caught:
        service.start(ADMIN, "invoices", params={"date_from": "2026-13-01", "colour": "red"})
    assert set(caught.value.errors) == {"date_from", "colour"}


# ------------------------------------------------------------------------- templates


def _docx_template(*paragraphs: str) -> bytes:
    document = DocxDocument()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _xlsx_template(cells: dict[str, str]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Report"
    for ref, value in cells.items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_user_docx_template_renders(demo: dict[str, Actor]) -> None:
    manager = demo["manager"]
    content = _docx_template(
        "{{ title }} for {{ period }}",
        "{%p for r in rows %}",
        "{{ r.stage }}: {{ r.executor_count }} sales, {{ r.executor_sum }} RUB",
        "{%p endfor %}",
        "Total: {{ totals.total_count }}",
    )
    template = templates.upload_template(
        manager,
        "Funnel",
        "funnel.docx",
        io.BytesIO(content),
        "contracts_by_stage",
        {"date_from": "2020-01-01"},
    )
    assert {"title", "period", "rows", "totals"} <= set(template.placeholders)
    run = service.start(manager, template_id=str(template.id))
    assert run.format == "docx"
    lines = [p.text for p in DocxDocument(io.BytesIO(_file(manager, run))).paragraphs]
    signed = Contract.objects(role="executor", stage="signed", archived=False)
    signed = [c for c in signed if c.date and c.date >= date(2020, 1, 1)]
    assert lines[0] == "Contracts by stage for 01.01.2020 – …"
    assert f"signed: {len(signed)} sales, " in "\n".join(lines)
    assert lines[-1] == f"Total: {Contract.objects(date__gte=datetime(2020, 1, 1)).count()}"


def test_a_user_xlsx_template_repeats_its_data_row(demo: dict[str, Actor]) -> None:
    content = _xlsx_template(
        {
            "A1": "Invoices {{period}}",
            "A3": "Role",
            "B3": "Issued",
            "A4": "{{row.role}}",
            "B4": "{{row.issued_count}}",
            "C4": "{{ row.issued_sum }}",
            "A5": "Total",
            "B5": "{{totals.issued_count}}",
            "C5": "as of {{as_of}}",
        }
    )
    template = templates.upload_template(
        ADMIN, "Invoices", "invoices.xlsx", io.BytesIO(content), "invoices", {"as_of": AS_OF}
    )
    run = service.start(ADMIN, template_id=str(template.id))
    rows = _xlsx_rows(_file(ADMIN, run))
    issued = [i for i in Invoice.objects(archived=False) if i.status != "cancelled"]
    sales = [i for i in issued if i.role == "executor"]
    assert rows[0][0] == "Invoices all time"
    assert rows[3][:3] == [
        "executor",
        len(sales),
        pytest.approx(_rub(sum(i.amount_minor for i in sales))),
    ]
    assert rows[4][0] == "customer"
    assert rows[5][:3] == ["Total", len(issued), "as of 01.11.2026"]


def test_malformed_templates_name_the_line_cell_or_field(demo: dict[str, Actor]) -> None:
    unclosed = _docx_template("Hello", "{% for r in rows %}{{ r.stage }}")
    with pytest.raises(ReportTemplateInvalid) as caught:
        templates.upload_template(ADMIN, "x", "x.docx", io.BytesIO(unclosed), "contracts_by_stage")
    assert "line" in caught.value.errors["file"][0] and "endfor" in caught.value.message
    unknown = _docx_template("{{ salary }}")
    with pytest.raises(ReportTemplateInvalid) as caught:
        templates.upload_template(ADMIN, "x", "x.docx", io.BytesIO(unknown), "invoices")
    assert caught.value.errors == {"file": ["unknown field “salary”"]}
    sheet = _xlsx_template({"A1": "{{period}}", "B5": "{{row.nope}}", "C2": "{{ a b }}"})
    with pytest.raises(ReportTemplateInvalid) as caught:
        templates.upload_template(ADMIN, "x", "x.xlsx", io.BytesIO(sheet), "invoices")
    assert "nope" in caught.value.errors["Report!B5"][0]
    assert "malformed placeholder" in caught.value.errors["Report!C2"][0]
    with pytest.raises(ReportTemplateInvalid) as caught:
        templates.upload_template(ADMIN, "x", "x.xlsx", io.BytesIO(b"not a zip"), "invoices")
    assert caught.value.errors == {"file": ["not an XLSX"]}


def test_data_never_becomes_a_spreadsheet_formula(demo: dict[str, Actor]) -> None:
    # Last in the module: it adds an action to the demo data.
    manager = demo["manager"]
    org = Organization.objects.first()
    registry_actions.create(
        manager, {"organization": org.id, "kind": "note", "result": "=HYPERLINK(1)"}
    )
    content = _file(manager, service.start(manager, "actions", params={"manager": "manager"}))
    sheet = load_workbook(io.BytesIO(content)).active
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == "=HYPERLINK(1)")
    assert cell.data_type == "s"
    csv = render.csv_text(
        [sources.Column("result", "Result")], [{"result": "=HYPERLINK(1)"}]
    ).decode("utf-8-sig")
    assert csv.splitlines()[1] == "'=HYPERLINK(1)"
