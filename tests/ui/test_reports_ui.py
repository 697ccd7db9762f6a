"""The reports page: charts from the user's own data, their exports, running a report."""

from __future__ import annotations

import io
from collections.abc import Callable

from flask.testing import FlaskClient
from openpyxl import load_workbook

from accounts import service as accounts
from registry import contracts, organizations

from .conftest import csrf_of

SignIn = Callable[[str], FlaskClient]


def _sales(count: int) -> None:
    manager = accounts.actor_of(accounts.get_user("manager"))
    org = organizations.create(manager, {"name": "ООО «Ромашка»"})
    for i in range(count):
        contracts.create(
            manager,
            {"organization": org.id, "role": "executor", "number": f"Д-{i}", "stage": "signed"},
        )


def test_the_reports_page_draws_charts_in_russian(sign_in: SignIn) -> None:
    client = sign_in("manager")
    page = client.get("/ui/reports").get_data(as_text=True)
    assert "<h1>Отчёты</h1>" in page and "Воронка продаж по стадиям договоров" in page
    assert page.count('class="chart-card"') == 5
    assert "vendor/chart.umd.min.js" in page and 'aria-current="page">Отчёты' in page


def test_chart_series_and_exports(sign_in: SignIn) -> None:
    _sales(2)
    client = sign_in("manager")
    data = client.get("/ui/reports/charts/sales_funnel.json").json
    assert data["datasets"][0]["label"] == "Договоры"
    assert data["datasets"][0]["data"][data["labels"].index("подписан")] == 2
    csv = client.get("/ui/reports/charts/sales_funnel.csv")
    assert csv.mimetype == "text/csv" and "signed,2," in csv.get_data(as_text=True)
    assert client.get("/ui/reports/charts/sales_funnel.exe").status_code == 404


def test_a_built_in_report_runs_and_downloads(sign_in: SignIn) -> None:
    _sales(3)
    client = sign_in("manager")
    page = client.get("/ui/reports").get_data(as_text=True)
    response = client.post(
        "/ui/reports/run",
        data={"csrf_token": csrf_of(page), "source": "contracts_by_stage", "format": "xlsx"},
    )
    assert response.status_code == 302
    file = client.get(response.headers["Location"])
    rows = list(load_workbook(io.BytesIO(file.data)).active.iter_rows(values_only=True))
    assert next(r for r in rows if r[0] == "signed")[1] == 3
