"""The OpenAPI document and the reference page."""

from __future__ import annotations

import re

PUBLIC = {
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/health"),
    ("get", "/api/v1/campaigns/unsubscribe/{token}"),  # the link in campaign e-mails
    ("post", "/api/v1/campaigns/unsubscribe/{token}"),  # its confirmation, one-click
}
REQUIRED_PATHS = {
    "/api/v1/auth/token",
    "/api/v1/definitions",
    "/api/v1/definitions/{key}",
    "/api/v1/definitions/{key}/{version}/xml",
    "/api/v1/instances",
    "/api/v1/instances/{instance_id}",
    "/api/v1/instances/{instance_id}/suspend",
    "/api/v1/instances/{instance_id}/resume",
    "/api/v1/instances/{instance_id}/terminate",
    "/api/v1/tasks",
    "/api/v1/tasks/{task_id}",
    "/api/v1/tasks/{task_id}/claim",
    "/api/v1/tasks/{task_id}/unclaim",
    "/api/v1/tasks/{task_id}/complete",
    "/api/v1/messages",
    "/api/v1/health",
}


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield method, path, op


def test_openapi_lists_every_endpoint_with_security_and_error_bodies(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) >= REQUIRED_PATHS
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    error_ref = "#/components/schemas/Error"
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert default["content"]["application/json"]["schema"]["$ref"] == error_ref
    for name, shared in spec["components"]["responses"].items():
        assert shared["content"]["application/json"]["schema"]["$ref"] == error_ref, name
    for method, path, op in _operations(spec):
        secured = op.get("security") == [{"bearerAuth": []}]
        assert secured == ((method, path) not in PUBLIC), (method, path)
        if secured:
            assert "401" in op["responses"], (method, path)
        assert "default" in op["responses"]
        for status, response_doc in op["responses"].items():
            if path == "/api/v1/health":
                continue  # 503 answers with the health body itself: "degraded"
            if status.startswith(("4", "5")) and "$ref" not in response_doc:
                schema = response_doc["content"]["application/json"]["schema"]
                assert schema["$ref"] == error_ref, (method, path, status)


def test_reference_page_is_self_contained(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "/api/v1/instances/{instance_id}/terminate" in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_unknown_path_and_method_use_the_error_body(client, users):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    wrong = client.put("/api/v1/tasks", headers=users["alice"])
    assert wrong.status_code == 405 and wrong.get_json()["code"] == "method_not_allowed"
