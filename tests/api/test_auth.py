"""Tokens: sign in, use, revoke, expiry, rate limit, and the one error body."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from accounts import service as accounts
from accounts.models import ApiToken
from engine.models import utcnow


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "message", "errors"}
    if code:
        assert body["code"] == code
    return body


def test_token_for_valid_credentials_works_as_bearer(client, users):
    response = client.post(
        "/api/v1/auth/token", json={"username": "alice", "password": "alice-password"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["token"].startswith("crm_") and body["token_type"] == "Bearer"
    assert body["expires_at"].endswith("+00:00")
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json() == {
        "username": "alice",
        "full_name": "",
        "groups": ["sales"],
        "is_admin": False,
        "is_machine": False,
    }


def test_wrong_password_and_unknown_user_look_the_same(client, users):
    wrong = client.post("/api/v1/auth/token", json={"username": "alice", "password": "nope"})
    unknown = client.post("/api/v1/auth/token", json={"username": "zed", "password": "nope"})
    assert _error(wrong, 401, "invalid_credentials") == _error(unknown, 401, "invalid_credentials")


def test_machine_user_cannot_sign_in_with_a_password(client, users):
    _error(client.post("/api/v1/auth/token", json={"username": "robot", "password": "x"}), 401)


def test_missing_malformed_and_unknown_tokens_are_401(client, users):
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer crm_not-a-token"},
    ):
        _error(client.get("/api/v1/auth/me", headers=headers), 401, "invalid_token")


def test_revoked_token_is_refused(client, users):
    headers = users["alice"]
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    _error(client.get("/api/v1/auth/me", headers=headers), 401, "invalid_token")
    bob = users["bob"]
    assert client.post("/api/v1/auth/token/revoke", headers=bob).status_code == 204
    _error(client.get("/api/v1/auth/me", headers=bob), 401)


def test_expired_token_is_refused(client, users):
    token, record = accounts.issue_token("alice", 60)
    ApiToken.objects(id=record.id).update_one(set__expires_at=utcnow() - timedelta(seconds=1))
    _error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}), 401)


def test_token_request_is_strict(client, users):
    body = _error(
        client.post(
            "/api/v1/auth/token", json={"username": "alice", "password": "x", "scope": "all"}
        ),
        422,
        "validation_error",
    )
    assert "scope" in body["errors"]
    body = _error(client.post("/api/v1/auth/token", json={"username": 5, "password": []}), 422)
    assert set(body["errors"]) == {"username", "password"}
    body = _error(client.post("/api/v1/auth/token", json={}), 422)
    assert set(body["errors"]) == {"username", "password"}


def test_token_endpoint_is_rate_limited_in_the_database(fresh_app):
    accounts.create_user("alice", "alice-password", ["sales"])
    # Two apps stand for two web processes: the counter is shared through the database.
    first: Flask = fresh_app(token_rate_limit_per_minute=3)
    second: Flask = fresh_app(token_rate_limit_per_minute=3)
    bad = {"username": "alice", "password": "wrong-password"}
    assert first.test_client().post("/api/v1/auth/token", json=bad).status_code == 401
    assert second.test_client().post("/api/v1/auth/token", json=bad).status_code == 401
    assert first.test_client().post("/api/v1/auth/token", json=bad).status_code == 401
    limited = second.test_client().post(
        "/api/v1/auth/token", json={"username": "alice", "password": "alice-password"}
    )
    body = _error(limited, 429, "too_many_requests")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert body["errors"]["retry_after"] == int(limited.headers["Retry-After"])
    # Another user from the same address is not locked out by alice's attempts.
    accounts.create_user("bob", "bob-password", ["sales"])
    ok = first.test_client().post(
        "/api/v1/auth/token", json={"username": "bob", "password": "bob-password"}
    )
    assert ok.status_code == 200
