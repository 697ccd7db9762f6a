"""Unknown query parameters are refused with 422 naming each, on every operation of the
OpenAPI document (generated: a new operation is covered without editing this file); the
declared ones keep working; the UI's pages are not concerned."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

API = "/api/v1"
FAKE_ID = "5f0000000000000000000000"
Headers = dict[str, dict[str, str]]


def test_every_operation_refuses_an_unknown_query_parameter_naming_it(
    client: FlaskClient, users: Headers
) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    wrong = []
    tried = 0
    for path, item in spec["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in item:
                continue
            params = [*item.get("parameters", []), *item[method].get("parameters", [])]
            integers = {p["name"] for p in params if p.get("schema", {}).get("type") == "integer"}
            url = "".join(
                ("1" if part in integers else FAKE_ID) if i % 2 else part
                for i, part in enumerate(re.split(r"\{(\w+)\}", path))
            )
            response = client.open(
                url,
                method=method.upper(),
                headers=users["admin"],
                query_string={"no_such_parameter": "1", "name[$ne]": "x"},
            )
            tried += 1
            body = response.get_json(silent=True) or {}
            if response.status_code != 422 or set(body.get("errors", {})) != {
                "name[$ne]",
                "no_such_parameter",
            }:
                wrong.append(f"{method.upper()} {path} -> {response.status_code} {body}")
    assert tried > 200
    assert wrong == [], "\n".join(wrong[:30])


def test_declared_parameters_still_work_and_the_message_names_the_unknown(
    client: FlaskClient, users: Headers
) -> None:
    alice = users["alice"]
    made = client.post(f"{API}/organizations", json={"name": "Ромашка"}, headers=alice)
    assert made.status_code == 201
    found = client.get(f"{API}/organizations", query_string={"q": "ромаш"}, headers=alice)
    assert found.status_code == 200 and len(found.get_json()["items"]) == 1
    # A misspelt filter is not silently ignored (which would list everything).
    typo = client.get(f"{API}/organizations", query_string={"qq": "x"}, headers=alice)
    assert typo.status_code == 422
    assert typo.get_json()["errors"] == {"qq": ["unknown query parameter"]}
    assert "qq" in typo.get_json()["message"]
    one = client.get(f"{API}/organizations/{made.get_json()['id']}?x=1", headers=alice)
    assert one.status_code == 422 and set(one.get_json()["errors"]) == {"x"}


def test_pages_of_the_ui_and_the_document_itself_are_not_concerned(client: FlaskClient) -> None:
    assert client.get("/ui/login?utm_source=mail").status_code == 200
    assert client.get(f"{API}/openapi.json?v=2").status_code == 200
