"""The API fixtures (app, client, users, deploy) for the security tests."""

from tests.api.conftest import app, client, deploy, fast_password_hashing, users

__all__ = ["app", "client", "deploy", "fast_password_hashing", "users"]
