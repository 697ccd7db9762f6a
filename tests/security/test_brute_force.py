"""Login brute force: ten failed sign-ins in a row lock a user name with a doubling backoff
(429 `sign_in_locked` with Retry-After), the API's and the sign-in form's failures count
together, other names sign in meanwhile, a success starts the count again."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from accounts import login, signin_limit
from engine.models import utcnow

TOKEN = "/api/v1/auth/token"
Headers = dict[str, dict[str, str]]


def _sign_in(client: FlaskClient, username: str, password: str) -> tuple[int, dict, str]:
    response = client.post(TOKEN, json={"username": username, "password": password})
    return (
        response.status_code,
        response.get_json() or {},
        response.headers.get("Retry-After", ""),
    )


def test_ten_failures_lock_the_name_for_the_api_but_not_other_names(
    client: FlaskClient, users: Headers
) -> None:
    for _ in range(login.FAILURE_LIMIT):
        status, body, _ = _sign_in(client, "alice", "guess")
        assert (status, body["code"]) == (401, "invalid_credentials")
    # The right password is refused now, without being checked.
    status, body, retry_after = _sign_in(client, "alice", "alice-password")
    assert (status, body["code"]) == (429, "sign_in_locked")
    assert 1 <= int(retry_after) <= login.FIRST_LOCK_SECONDS
    assert body["errors"] == {"retry_after": int(retry_after)}
    assert "try again" in body["message"]
    # Another account, from the same address, in the same minute: not blocked.
    status, body, _ = _sign_in(client, "bob", "bob-password")
    assert status == 200 and body["token"]
    # Case and spaces do not make another name.
    assert _sign_in(client, " Alice ", "alice-password")[0] == 429
    # The sign-in form sees the same lock.
    assert signin_limit.blocked("alice", "10.9.9.9") is not None


def test_the_lock_doubles_with_each_further_failure_and_a_success_clears_it(
    client: FlaskClient, users: Headers
) -> None:
    now = utcnow() - timedelta(hours=10)  # the locks below all end before the real now
    for _ in range(login.FAILURE_LIMIT - 1):
        login.record_failed_sign_in("alice", now)
    assert login.locked_for("alice", now) is None  # nine: not yet
    waits = []
    for _ in range(8):
        login.record_failed_sign_in("alice", now)
        waits.append(login.locked_for("alice", now))
        now += timedelta(seconds=login.MAX_LOCK_SECONDS + 1)  # the lock ran out: try again
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert login.locked_for("alice", now) is None
    # Past the lock, a right password signs in and the count starts from zero.
    status, _, _ = _sign_in(client, "alice", "alice-password")
    assert status == 200
    login.record_failed_sign_in("alice")
    assert login.locked_for("alice") is None


def test_failures_of_the_form_and_the_api_count_together(
    client: FlaskClient, users: Headers
) -> None:
    for _ in range(login.FAILURE_LIMIT // 2):
        signin_limit.record_failure("alice", "10.0.0.1")  # the sign-in form's failures
    for _ in range(login.FAILURE_LIMIT // 2):
        assert _sign_in(client, "alice", "guess")[0] == 401
    status, body, retry_after = _sign_in(client, "alice", "alice-password")
    assert (status, body["code"]) == (429, "sign_in_locked") and int(retry_after) > 0


def test_an_unknown_name_is_locked_like_a_known_one(client: FlaskClient, users: Headers) -> None:
    # (An unknown name costs a full password hash each time, so most failures are seeded.)
    for _ in range(login.FAILURE_LIMIT - 2):
        login.record_failed_sign_in("nobody")
    for _ in range(2):
        assert _sign_in(client, "nobody", "guess")[0] == 401
    status, body, _ = _sign_in(client, "nobody", "guess")
    assert (status, body["code"]) == (429, "sign_in_locked")


def test_guesses_running_at_once_count_before_their_passwords_are_checked(
    client: FlaskClient, users: Headers
) -> None:
    now = utcnow()
    for _ in range(login.FAILURE_LIMIT - 1):
        login.record_failed_sign_in("alice", now)
    # Two guesses arrive together: the first is the tenth and goes on to its password
    # check; the second is refused at once, without waiting for the first to fail.
    assert login.take_attempt("alice", now) is None
    assert login.take_attempt("alice", now) == login.FIRST_LOCK_SECONDS
    assert _sign_in(client, "alice", "alice-password")[0] == 429
    # The refused one was not counted: the lock after the tenth failure is the first one.
    assert login.locked_for("alice", now) == login.FIRST_LOCK_SECONDS


def test_a_sign_in_through_the_form_clears_the_count(app: Flask, users: Headers) -> None:
    for _ in range(login.FAILURE_LIMIT - 1):
        login.record_failed_sign_in("alice")
    form = app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', form.get("/ui/login").get_data(as_text=True)
    )
    assert token
    signed = form.post(
        "/ui/login",
        data={"username": "alice", "password": "alice-password", "csrf_token": token[1]},
    )
    assert signed.status_code == 302
    login.record_failed_sign_in("alice")  # one failure after the success: far from a lock
    assert login.locked_for("alice") is None
    assert signin_limit.blocked("alice", "10.0.0.1") is None
