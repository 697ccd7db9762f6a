"""The API fixtures (the shared app, client, users, deploy) for the security tests."""

from tests.api.conftest import (
    app,
    client,
    deploy,
    fast_password_hashing,
    fresh_app,
    session_app,
    users,
)

__all__ = ["app", "client", "deploy", "fast_password_hashing", "fresh_app", "session_app", "users"]
