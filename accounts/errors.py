"""Domain exceptions of accounts."""

from __future__ import annotations

from engine.errors import EngineError


class AccountError(EngineError):
    code = "account_error"


class UserExists(AccountError):
    code = "user_exists"


class UserNotFound(AccountError):
    code = "user_not_found"


class InvalidCredentials(AccountError):
    code = "invalid_credentials"


class InvalidToken(AccountError):
    code = "invalid_token"


class InvalidAccountData(AccountError):
    code = "validation_error"


class Forbidden(AccountError):
    """Authenticated, but not allowed."""

    code = "forbidden"
