"""The CRM directories over HTTP: organizations, the card, search, access, import/export."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine import definitions, instances
from engine.actor import Actor
from tests.conftest import bpmn

Headers = dict[str, dict[str, str]]
SBER = {
    "name": "ПАО «Сбербанк России»",
    "short_name": "ПАО Сбербанк",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "tags": ["банк"],
    "bank_accounts": [
        {
            "bank_name": "ПАО Сбербанк",
            "bik": "044525225",
            "correspondent_account": "30101810400000000225",
            "settlement_account": "40702810938000000001",
        }
    ],
}


def post(
    client: FlaskClient, url: str, body: dict[str, Any], headers: dict[str, str], status: int = 201
) -> dict[str, Any]:
    response = client.post(f"/api/v1{url}", json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def get(
    client: FlaskClient, url: str, headers: dict[str, str], status: int = 200, **query: Any
) -> Any:
    response = client.get(f"/api/v1{url}", query_string=query, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_create_read_update_archive(client: FlaskClient, users: Headers) -> None:
    org = post(client, "/organizations", SBER, users["alice"])
    assert org["responsible"] == "alice" and org["version"] == 1
    assert org["bank_accounts"][0]["bik"] == "044525225"
    assert get(client, f"/organizations/{org['id']}", users["carol"])["inn"] == "7707083893"
    response = client.patch(
        f"/api/v1/organizations/{org['id']}",
        json={"notes": "главный банк", "version": 1},
        headers=users["bob"],
    )
    assert response.status_code == 200 and response.get_json()["version"] == 2
    stale = client.patch(
        f"/api/v1/organizations/{org['id']}",
        json={"notes": "x", "version": 1},
        headers=users["bob"],
    )
    assert stale.status_code == 409 and stale.get_json()["code"] == "version_conflict"
    denied = client.patch(
        f"/api/v1/organizations/{org['id']}", json={"notes": "x"}, headers=users["carol"]
    )
    assert denied.status_code == 403
    deleted = client.delete(f"/api/v1/organizations/{org['id']}", headers=users["alice"])
    assert deleted.status_code == 200 and deleted.get_json()["archived"] is True
    history = get(client, f"/organizations/{org['id']}/history", users["alice"])
    assert [e["action"] for e in history] == ["archived", "updated", "created"]
    assert history[1]["actor"] == "bob" and "notes" in history[1]["changes"]


def test_validation_errors_name_the_fields(client: FlaskClient, users: Headers) -> None:
    body = {
        **SBER,
        "inn": "7707083894",
        "bank_accounts": [
            {**SBER["bank_accounts"][0], "settlement_account": "40702810938000000002"}
        ],
    }
    response = client.post("/api/v1/organizations", json=body, headers=users["alice"])
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"inn", "bank_accounts.0.settlement_account"}
    unknown = client.post(
        "/api/v1/organizations", json={"name": "X", "colour": "red"}, headers=users["alice"]
    )
    assert unknown.status_code == 422 and "colour" in unknown.get_json()["errors"]
    assert client.get("/api/v1/organizations").status_code == 401


def test_duplicate_points_at_the_existing_organization(client: FlaskClient, users: Headers) -> None:
    first = post(client, "/organizations", SBER, users["alice"])
    again = client.post("/api/v1/organizations", json=SBER, headers=users["bob"])
    assert again.status_code == 409
    assert again.get_json()["errors"]["existing"]["id"] == first["id"]


def test_search_cyrillic_any_case_with_cursor(client: FlaskClient, users: Headers) -> None:
    for name in ("ООО «Ромашка»", "АО «РОМАШКОВОЕ ПОЛЕ»", "ООО «Василёк»", "ООО «Ромб»"):
        post(client, "/organizations", {"name": name}, users["alice"])
    page = get(client, "/organizations", users["carol"], q="РоМаШ", limit=1)
    assert [o["name"] for o in page["items"]] == ["АО «РОМАШКОВОЕ ПОЛЕ»"]
    page = get(
        client, "/organizations", users["carol"], q="ромаш", limit=1, cursor=page["next_cursor"]
    )
    assert [o["name"] for o in page["items"]] == ["ООО «Ромашка»"]
    assert page["next_cursor"] is None
    found = get(client, "/organizations", users["carol"], q="асил", match="contains")
    assert [o["name"] for o in found["items"]] == ["ООО «Василёк»"]
    bad = client.get(
        "/api/v1/organizations", query_string={"cursor": "zzz"}, headers=users["carol"]
    )
    assert bad.status_code == 422 and "cursor" in bad.get_json()["errors"]


def test_a_user_sees_organizations_per_their_groups_rights(
    client: FlaskClient, users: Headers
) -> None:
    secret = post(
        client,
        "/organizations",
        {"name": "ООО «Секрет»", "restricted": True, "readers": ["group:support"]},
        users["alice"],
    )
    post(client, "/organizations", {"name": "ООО «Открыто»"}, users["alice"])
    # bob shares alice's group: he reads and writes; carol (support) reads only; designer
    # sees only the open one, and the secret one does not exist for him.
    assert len(get(client, "/organizations", users["bob"])["items"]) == 2
    assert len(get(client, "/organizations", users["carol"])["items"]) == 2
    names = [o["name"] for o in get(client, "/organizations", users["designer"])["items"]]
    assert names == ["ООО «Открыто»"]
    get(client, f"/organizations/{secret['id']}", users["designer"], status=404)
    get(client, f"/organizations/{secret['id']}/card", users["designer"], status=404)
    assert len(get(client, "/organizations", users["admin"])["items"]) == 2


def test_the_card_has_every_section(client: FlaskClient, users: Headers) -> None:
    alice = users["alice"]
    org = post(client, "/organizations", SBER, alice)
    oid = org["id"]
    contact = post(
        client,
        "/contacts",
        {"organization": oid, "name": "Иванова Анна", "position": "Директор", "is_primary": True},
        alice,
    )
    post(
        client,
        "/actions",
        {
            "organization": oid,
            "contact": contact["id"],
            "kind": "call_in",
            "subject": "Цены",
            "result": "Выслали прайс",
            "follow_up_on": "2026-12-01",
        },
        users["carol"],
    )
    product = post(
        client,
        "/products",
        {"code": "P-1", "name": "Бумага А4", "unit": "пачка", "price": "350.00"},
        alice,
    )
    post(
        client,
        "/suppliers",
        {"organization": oid, "product_types": ["канцтовары"], "products": [product["id"]]},
        alice,
    )
    sell = post(
        client,
        "/contracts",
        {
            "organization": oid,
            "role": "executor",
            "number": "Д-1",
            "amount": "120000.00",
            "vat_rate": 20,
            "stage": "in_force",
        },
        alice,
    )
    buy = post(
        client,
        "/contracts",
        {"organization": oid, "role": "customer", "number": "П-1", "amount": "5000.50"},
        alice,
    )
    assert sell["vat_amount"] == "20000.00"
    post(
        client,
        "/invoices",
        {
            "contract": sell["id"],
            "number": "С-1",
            "date": "2026-01-10",
            "amount": "60000.00",
            "due_on": "2026-01-20",
            "paid_amount": "10000.00",
        },
        alice,
    )
    post(
        client,
        "/invoices",
        {
            "contract": sell["id"],
            "number": "С-2",
            "date": "2026-01-10",
            "amount": "60000.00",
            "paid_amount": "60000.00",
        },
        alice,
    )
    delivery = post(
        client,
        "/deliveries",
        {
            "contract": buy["id"],
            "date": "2026-02-01",
            "items": [{"product": product["id"], "quantity": "3"}],
        },
        alice,
    )
    assert delivery["total"] == "1050.00" and delivery["items"][0]["name"] == "Бумага А4"
    definitions.deploy(bpmn("approval.bpmn"), "approval.bpmn", "test")
    instances.start(
        "approval",
        Actor("alice", frozenset({"sales"})),
        subject={"type": "contract", "id": sell["id"], "title": "Д-1"},
    )
    card = get(client, f"/organizations/{oid}/card", alice)
    assert card["organization"]["inn"] == "7707083893"
    assert [c["name"] for c in card["contacts"]] == ["Иванова Анна"]
    assert card["actions"][0]["by"] == "carol"
    assert {c["number"] for c in card["contracts"]} == {"Д-1", "П-1"}
    assert card["contract_totals"]["executor"] == {
        "count": 1,
        "active": 1,
        "amount": "120000.00",
        "active_amount": "120000.00",
    }
    assert card["contract_totals"]["customer"]["amount"] == "5000.50"
    totals = card["invoice_totals"]["executor"]
    assert totals["issued"] == "120000.00" and totals["paid"] == "70000.00"
    assert totals["overdue"] == "50000.00" and totals["overdue_count"] == 1
    assert [d["total"] for d in card["deliveries"]] == ["1050.00"]
    assert card["supplier"]["product_types"] == ["канцтовары"]
    assert [p["code"] for p in card["supplier_products"]] == ["P-1"]
    assert [t["process_key"] for t in card["open_tasks"]] == ["approval"]
    assert [p["process_key"] for p in card["processes"]] == ["approval"]
    # carol may read the card but is no participant of alice's process.
    carol_card = get(client, f"/organizations/{oid}/card", users["carol"])
    assert carol_card["open_tasks"] == [] and carol_card["processes"] == []
    archived = client.delete(f"/api/v1/organizations/{oid}", headers=alice)
    assert archived.status_code == 409 and archived.get_json()["code"] == "active_contracts"


def test_contract_stages(client: FlaskClient, users: Headers) -> None:
    org = post(client, "/organizations", {"name": "ООО «Ромашка»"}, users["alice"])
    contract = post(
        client,
        "/contracts",
        {"organization": org["id"], "role": "executor", "number": "1"},
        users["alice"],
    )
    url = f"/contracts/{contract['id']}/stage"
    assert post(client, url, {"stage": "approval"}, users["alice"], 200)["stage"] == "approval"
    refused = client.post(f"/api/v1{url}", json={"stage": "closed"}, headers=users["alice"])
    assert refused.status_code == 409
    for stage in ("signed", "in_force", "closed"):
        post(client, url, {"stage": stage}, users["alice"], 200)
    frozen = client.patch(
        f"/api/v1/contracts/{contract['id']}", json={"amount": "1.00"}, headers=users["alice"]
    )
    assert frozen.status_code == 409


def test_import_export_over_http(client: FlaskClient, users: Headers) -> None:
    content = "Наименование;ИНН\nООО «Ёж»;7736207543\nООО «Уж»;7736207544\n".encode()
    response = client.post(
        "/api/v1/organizations/import",
        headers=users["alice"],
        data={"file": (io.BytesIO(content), "orgs.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert [r["row"] for r in response.get_json()["errors"]["rows"]] == [3]
    dry = client.post(
        "/api/v1/organizations/import",
        headers=users["alice"],
        data={"file": (io.BytesIO(content), "orgs.csv"), "dry_run": "true"},
        content_type="multipart/form-data",
    )
    assert dry.status_code == 200 and dry.get_json()["errors"][0]["row"] == 3
    mapped = client.post(
        "/api/v1/organizations/import",
        headers=users["alice"],
        data={"file": (io.BytesIO(content), "orgs.csv"), "mapping": '{"ИНН": ""}'},
        content_type="multipart/form-data",
    )
    assert mapped.status_code == 200 and mapped.get_json()["created"] == 2
    exported = client.get(
        "/api/v1/organizations/export", query_string={"format": "xlsx"}, headers=users["alice"]
    )
    assert exported.status_code == 200 and exported.data[:2] == b"PK"
    assert "organizations.xlsx" in exported.headers["Content-Disposition"]
    contacts_csv = client.get("/api/v1/contacts/export", headers=users["alice"])
    assert contacts_csv.status_code == 200 and contacts_csv.data.startswith(b"\xef\xbb\xbfid")


def test_products_need_an_editor_group(client: FlaskClient, users: Headers) -> None:
    refused = client.post(
        "/api/v1/products", json={"code": "X", "name": "Y"}, headers=users["carol"]
    )
    assert refused.status_code == 403
    post(client, "/products", {"code": "X", "name": "Скрепки", "price": "1.50"}, users["bob"])
    again = client.post("/api/v1/products", json={"code": "X", "name": "Y"}, headers=users["bob"])
    assert again.status_code == 409
    found = get(client, "/products", users["carol"], q="СКРЕП")
    assert [p["price"] for p in found["items"]] == ["1.50"]


def test_openapi_documents_the_directories(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/organizations",
        "/api/v1/organizations/{organization_id}/card",
        "/api/v1/organizations/import",
        "/api/v1/contacts",
        "/api/v1/actions",
        "/api/v1/products",
        "/api/v1/suppliers",
        "/api/v1/contracts",
        "/api/v1/contracts/{contract_id}/stage",
        "/api/v1/invoices",
        "/api/v1/deliveries",
    ):
        assert path in spec["paths"], path


@pytest.mark.parametrize(
    "url",
    [
        "/organizations/nope",
        "/contacts/nope",
        "/actions/nope",
        "/products/nope",
        "/suppliers/nope",
        "/contracts/nope",
        "/invoices/nope",
        "/deliveries/nope",
    ],
)
def test_unknown_ids_are_404(client: FlaskClient, users: Headers, url: str) -> None:
    assert client.get(f"/api/v1{url}", headers=users["alice"]).status_code == 404
