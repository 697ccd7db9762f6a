"""Import and export of organizations and contacts (CSV and XLSX) against the real database."""

from __future__ import annotations

import csv
import io
import random

import pytest
from openpyxl import Workbook, load_workbook

from engine.actor import Actor
from registry import audit, contacts, imports, organizations, requisites
from registry.errors import ImportFailed, RegistryInvalid
from registry.models import AuditEvent, Contact, Organization

pytestmark = pytest.mark.usefixtures("db")

HEADER = ["Наименование", "ИНН", "КПП", "ОГРН", "Телефон", "E-mail", "Метки", "БИК", "Р/с"]


def rows(count: int, seed: int = 5) -> list[list[str]]:
    rng = random.Random(seed)
    inns: set[str] = set()
    out = []
    while len(out) < count:
        inn = requisites.make_inn(rng)
        if inn in inns:
            continue
        inns.add(inn)
        n = len(out)
        out.append(
            [
                f"ООО «Импорт {n:05d}»",
                inn,
                "770101001",
                requisites.make_ogrn(rng),
                f"+7 495 {n:07d}",
                f"office{n}@example.ru",
                "импорт; опт",
                "044525225",
                requisites.make_settlement_account(rng, "044525225"),
            ]
        )
    return out


def as_csv(header: list[str], data: list[list[str]], delimiter: str = ";") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(data)
    return out.getvalue().encode("utf-8")


def as_xlsx(header: list[str], data: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in data:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.slow
def test_5000_rows_with_3_bad_ones_write_nothing_and_report_the_3(alice: Actor) -> None:
    data = rows(5000)
    data[10][1] = "7707083894"  # row 12: INN control digit
    data[2500][8] = "40702810938000000002"  # row 2502: settlement account key
    data[4998][0] = ""  # row 5000: no name
    content = as_csv(HEADER, data)
    with pytest.raises(ImportFailed) as err:
        imports.import_organizations(alice, content, "orgs.csv")
    report = err.value.errors
    assert [r["row"] for r in report["rows"]] == [12, 2502, 5000]
    assert "inn" in report["rows"][0]["errors"]
    assert "bank_accounts.0.settlement_account" in report["rows"][1]["errors"]
    assert "name" in report["rows"][2]["errors"]
    assert report["total"] == 5000 and report["valid"] == 4997
    assert Organization.objects.count() == 0 and AuditEvent.objects.count() == 0
    dry = imports.import_organizations(alice, content, "orgs.csv", dry_run=True)
    assert not dry.written and [e.row for e in dry.errors] == [12, 2502, 5000]
    assert Organization.objects.count() == 0


@pytest.mark.slow
def test_2000_good_rows_are_written_in_bulk(alice: Actor) -> None:
    content = as_csv(HEADER, rows(2000, seed=9))
    report = imports.import_organizations(alice, content, "orgs.csv")
    assert report.written and report.created == 2000
    assert Organization.objects(import_batch=report.batch).count() == 2000
    assert AuditEvent.objects(batch=report.batch, action="imported").count() == 2000
    assert [o.inn for o in organizations.find(alice, q="импорт 00042").items] == [
        content.decode().splitlines()[43].split(";")[1]
    ]


def test_allow_partial_skips_bad_rows(alice: Actor) -> None:
    data = rows(20)
    data[3][2] = "12"
    report = imports.import_organizations(alice, as_csv(HEADER, data), allow_partial=True)
    assert report.created == 19 and report.skipped == 1 and report.errors[0].row == 5
    assert Organization.objects.count() == 19


def test_xlsx_with_a_column_mapping(alice: Actor) -> None:
    header = ["Компания", "Налоговый номер", "Город", "Кто ведёт", "Служебное"]
    data = [
        ["АО «Север»", "7736207543", "Мурманск", "alice", "x"],
        ["ИП Иванов", "500100732259", "Тверь", "", "y"],
    ]
    mapping = {
        "Компания": "name",
        "Налоговый номер": "inn",
        "Город": "legal_address.city",
        "Кто ведёт": "responsible",
        "Служебное": "",
    }
    report = imports.import_organizations(
        alice, as_xlsx(header, data), "orgs.xlsx", mapping=mapping
    )
    assert report.created == 2 and report.ignored == ["Служебное"]
    sever = Organization.objects.get(inn="7736207543")
    assert sever.legal_address.city == "Мурманск" and sever.responsible == "alice"
    assert sever.import_batch == report.batch
    with pytest.raises(RegistryInvalid) as err:
        imports.import_organizations(alice, as_xlsx(header, data), mapping={"Компания": "nam"})
    assert "mapping.Компания" in err.value.errors


def test_duplicates_in_the_file_and_in_the_database(alice: Actor) -> None:
    organizations.create(alice, {"name": "ПАО Сбербанк", "inn": "7707083893", "kpp": "773601001"})
    data = [
        ["Сбер", "7707083893", "773601001"],
        ["Яндекс", "7736207543", "770401001"],
        ["Яндекс снова", "7736207543", "770401001"],
    ]
    report = imports.import_organizations(
        alice, as_csv(["name", "inn", "kpp"], data, ","), dry_run=True
    )
    assert [(e.row, list(e.errors)) for e in report.errors] == [(2, ["inn"]), (4, ["inn"])]
    assert "row 3" in report.errors[1].errors["inn"][0]


def test_a_failure_while_writing_removes_the_whole_batch(
    alice: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(events: list[AuditEvent]) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "insert_many", broken)
    with pytest.raises(RuntimeError):
        imports.import_organizations(alice, as_csv(HEADER, rows(30)))
    assert Organization.objects.count() == 0


def test_cp1251_csv_with_commas(alice: Actor) -> None:
    content = "Наименование,ИНН\nООО «Ёж»,7736207543\n".encode("cp1251")
    report = imports.import_organizations(alice, content, "ezh.csv")
    assert report.created == 1
    assert Organization.objects.get().name == "ООО «Ёж»"


def test_not_an_xlsx_file(alice: Actor) -> None:
    with pytest.raises(RegistryInvalid) as err:
        imports.import_organizations(alice, b"PK\x03\x04garbage", "x.xlsx")
    assert "file" in err.value.errors


def test_contacts_import_by_inn(alice: Actor) -> None:
    org = organizations.create(
        alice, {"name": "ООО «Ромашка»", "inn": "7736207543", "kpp": "770401001"}
    )
    foreign = organizations.create(
        Actor("zed", frozenset({"other"})),
        {"name": "Чужая", "inn": "7707083893", "kpp": "773601001"},
    )
    data = [
        ["Иванова Анна", "Директор", "7736207543", "a@romashka.ru, b@romashka.ru", "да"],
        ["Петров Пётр", "Бухгалтер", "7736207543", "", ""],
        ["Сидоров", "", "7707083893", "", ""],
        ["Никто", "", "0000000000", "", ""],
    ]
    header = ["ФИО", "Должность", "ИНН организации", "E-mail", "Основной"]
    with pytest.raises(ImportFailed) as err:
        imports.import_contacts(alice, as_csv(header, data))
    assert [r["row"] for r in err.value.errors["rows"]] == [4, 5]
    report = imports.import_contacts(alice, as_csv(header, data[:2]))
    assert report.created == 2
    anna = Contact.objects.get(name="Иванова Анна")
    assert anna.organization == org.id and anna.is_primary
    assert anna.emails == ["a@romashka.ru", "b@romashka.ru"]
    assert anna.access.write == org.access.write
    assert [c.name for c in contacts.find(alice, q="иван").items] == ["Иванова Анна"]
    assert foreign.id != org.id


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trip(alice: Actor, fmt: str) -> None:
    organizations.create(
        alice,
        {
            "name": "ПАО Сбербанк",
            "inn": "7707083893",
            "kpp": "773601001",
            "ogrn": "1027700132195",
            "phones": ["+7 495 500-55-50", "900"],
            "emails": ["sberbank@sberbank.ru"],
            "tags": ["банк"],
            "legal_address": {"index": "117312", "city": "Москва"},
            "bank_accounts": [
                {
                    "bik": "044525225",
                    "settlement_account": "40702810938000000001",
                    "correspondent_account": "30101810400000000225",
                }
            ],
        },
    )
    content, media_type, name = imports.export_organizations(alice, fmt)
    assert name == f"organizations.{fmt}" and media_type
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(content)).worksheets[0]
        assert sheet.cell(1, 2).value == "name" and sheet.cell(2, 2).value == "ПАО Сбербанк"
    Organization.objects.delete()
    report = imports.import_organizations(alice, content, name)
    assert report.created == 1 and report.ignored == ["id"]
    back = Organization.objects.get()
    assert back.phones == ["+7 495 500-55-50", "900"]
    assert back.bank_accounts[0].correspondent_account == "30101810400000000225"
    assert back.legal_address.index == "117312"
