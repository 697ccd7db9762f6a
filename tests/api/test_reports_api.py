"""The reports API: sources, runs now and in the background, downloads, templates,
dashboard series and their exports; every report applies the caller's access rule."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook

from accounts import service as accounts
from engine import jobs
from engine.models import utcnow
from registry import actions, organizations
from reports import service

Headers = dict[str, str]


def _secret_calls(count: int) -> None:
    """A restricted organization of alice's (her group reads it) with `count` calls."""
    alice = accounts.actor_of(accounts.get_user("alice"))
    org = organizations.create(alice, {"name": "ООО «Тайна»", "restricted": True})
    for i in range(count):
        actions.create(
            alice,
            {"organization": org.id, "kind": "call_out", "at": utcnow() - timedelta(hours=i)},
        )


def _total_actions(client: FlaskClient, headers: Headers) -> int:
    response = client.post(
        "/api/v1/reports/runs", headers=headers, json={"source": "actions", "format": "xlsx"}
    )
    assert response.status_code == 201, response.json
    assert response.json["status"] == "done" and response.json["progress"] == 100
    file = client.get(response.json["file_url"], headers=headers)
    assert file.status_code == 200
    assert file.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(file.data)).active
    totals = [row for row in sheet.iter_rows(values_only=True) if row[0] == "Total"]
    return int(totals[0][3])


def test_sources_are_listed(client: FlaskClient, users: dict[str, Headers]) -> None:
    response = client.get("/api/v1/reports/sources", headers=users["alice"])
    assert response.status_code == 200
    keys = {item["key"] for item in response.json["items"]}
    assert {"organization_dossier", "contracts_by_stage", "appeals", "processes"} <= keys
    invoices = next(i for i in response.json["items"] if i["key"] == "invoices")
    assert [p["name"] for p in invoices["params"]][:3] == ["date_from", "date_to", "as_of"]
    assert client.get("/api/v1/reports/sources").status_code == 401


def test_a_report_counts_only_what_the_caller_may_read(
    client: FlaskClient, users: dict[str, Headers]
) -> None:
    _secret_calls(3)
    assert _total_actions(client, users["alice"]) == 3
    assert _total_actions(client, users["bob"]) == 3  # sales: the responsible's group
    assert _total_actions(client, users["carol"]) == 0
    assert _total_actions(client, users["admin"]) == 3


def test_bad_parameters_give_422_naming_them(
    client: FlaskClient, users: dict[str, Headers]
) -> None:
    response = client.post(
        "/api/v1/reports/runs",
        headers=users["alice"],
        json={"source": "invoices", "params": {"date_from": "yesterday", "shoe": "9"}},
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"date_from", "shoe"}
    missing = client.post(
        "/api/v1/reports/runs", headers=users["alice"], json={"source": "organization_dossier"}
    )
    assert missing.status_code == 422 and "organization" in missing.json["errors"]
    unknown = client.post("/api/v1/reports/runs", headers=users["alice"], json={"source": "x"})
    assert unknown.status_code == 404


def test_a_background_run_has_progress_and_a_download_link(
    client: FlaskClient, users: dict[str, Headers]
) -> None:
    _secret_calls(2)
    started = client.post(
        "/api/v1/reports/runs",
        headers=users["alice"],
        json={"source": "actions", "format": "docx", "background": True},
    )
    assert started.status_code == 201
    run = started.json
    assert (run["status"], run["progress"], run["file_url"]) == ("pending", 0, None)
    early = client.get(f"/api/v1/reports/runs/{run['id']}/file", headers=users["alice"])
    assert early.status_code == 409
    assert jobs.run_due("test-worker") == 1
    done = client.get(f"/api/v1/reports/runs/{run['id']}", headers=users["alice"]).json
    assert (done["status"], done["progress"]) == ("done", 100)
    file = client.get(done["file_url"], headers=users["alice"])
    assert file.status_code == 200 and file.data.startswith(b"PK")
    assert client.get(done["file_url"], headers=users["carol"]).status_code == 404
    listed = client.get("/api/v1/reports/runs", headers=users["alice"]).json["items"]
    assert [r["id"] for r in listed] == [run["id"]]


def _xlsx(cells: dict[str, str]) -> bytes:
    book = Workbook()
    for ref, value in cells.items():
        book.active[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_templates_upload_and_render(client: FlaskClient, users: dict[str, Headers]) -> None:
    _secret_calls(2)
    content = _xlsx({"A1": "{{title}}", "A2": "{{row.manager}}", "B2": "{{row.count}}"})
    uploaded = client.post(
        "/api/v1/reports/templates",
        headers=users["alice"],
        content_type="multipart/form-data",
        data={
            "file": (io.BytesIO(content), "calls.xlsx"),
            "name": "Calls",
            "source": "actions",
            "params": '{"manager": "alice"}',
        },
    )
    assert uploaded.status_code == 201, uploaded.json
    assert uploaded.json["placeholders"] == ["row.count", "row.manager", "title"]
    template_id = uploaded.json["id"]
    listed = client.get("/api/v1/reports/templates?source=actions", headers=users["bob"])
    assert [t["id"] for t in listed.json["items"]] == [template_id]
    run = client.post(
        "/api/v1/reports/runs", headers=users["bob"], json={"template_id": template_id}
    ).json
    sheet = load_workbook(io.BytesIO(client.get(run["file_url"], headers=users["bob"]).data))
    rows = list(sheet.active.iter_rows(values_only=True))
    assert rows[1][:2] == ("alice", 2)
    as_pdf = client.post(
        "/api/v1/reports/runs",
        headers=users["bob"],
        json={"template_id": template_id, "format": "pdf"},
    )
    assert as_pdf.status_code == 422 and as_pdf.json["errors"] == {"format": ["xlsx"]}


def test_a_malformed_template_gives_422_naming_the_cell(
    client: FlaskClient, users: dict[str, Headers]
) -> None:
    content = _xlsx({"A1": "{{period}}", "C7": "{{row.amount}}"})
    response = client.post(
        "/api/v1/reports/templates",
        headers=users["alice"],
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(content), "calls.xlsx"), "name": "Bad", "source": "actions"},
    )
    assert response.status_code == 422
    assert response.json["code"] == "report_template_invalid"
    assert list(response.json["errors"]) == ["Sheet!C7"]
    assert "amount" in response.json["errors"]["Sheet!C7"][0]


def test_dashboard_series_export_as_csv_and_xlsx(
    client: FlaskClient, users: dict[str, Headers]
) -> None:
    _secret_calls(3)
    charts = client.get("/api/v1/reports/dashboards", headers=users["alice"]).json["items"]
    assert len(charts) == 5
    series = client.get("/api/v1/reports/dashboards/calls_per_day", headers=users["alice"])
    assert series.status_code == 200
    assert len(series.json["labels"]) == 30
    assert sum(series.json["datasets"][1]["data"]) == 3  # outgoing
    carol = client.get("/api/v1/reports/dashboards/calls_per_day", headers=users["carol"])
    assert sum(carol.json["datasets"][1]["data"]) == 0
    today = utcnow().date().isoformat()
    csv = client.get(
        f"/api/v1/reports/dashboards/calls_per_day?format=csv&date_from={today}",
        headers=users["alice"],
    )
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "Label,Incoming,Outgoing" and lines[1].startswith(today)
    xlsx = client.get("/api/v1/reports/dashboards/sales_funnel?format=xlsx", headers=users["alice"])
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("Label", "Contracts", "Amount") and rows[1][0] == "draft"
    assert client.get("/api/v1/reports/dashboards/nope", headers=users["alice"]).status_code == 404


def test_periods_out_of_range_are_refused(client: FlaskClient, users: dict[str, Headers]) -> None:
    long = client.get(
        "/api/v1/reports/dashboards/calls_per_day?date_from=1990-01-01", headers=users["alice"]
    )
    assert long.status_code == 422 and "date_from" in long.json["errors"]
    far = client.post(
        "/api/v1/reports/runs",
        headers=users["alice"],
        json={"source": "actions", "params": {"date_to": "9999-12-31"}},
    )
    assert far.status_code == 422 and "date_to" in far.json["errors"]


def test_a_report_over_a_large_collection_goes_to_the_background(
    client: FlaskClient, users: dict[str, Headers], monkeypatch: pytest.MonkeyPatch
) -> None:
    _secret_calls(3)
    monkeypatch.setattr(service, "BACKGROUND_FROM_DOCUMENTS", 2)
    large = client.post("/api/v1/reports/runs", headers=users["alice"], json={"source": "actions"})
    assert large.json["status"] == "pending" and large.json["background"] is True
    small = client.post("/api/v1/reports/runs", headers=users["alice"], json={"source": "invoices"})
    assert small.json["status"] == "done" and small.json["background"] is False
    told = client.post(
        "/api/v1/reports/runs",
        headers=users["alice"],
        json={"source": "actions", "background": False},
    )
    assert told.json["status"] == "done"
