"""Domain exceptions of accounts."""

from __future__ import annotations

from engine.errors import Conflict, EngineError, InvalidInput, NotFound, PermissionDenied


class AccountError(EngineError):
    code = "account_error"


class UserExists(Conflict):
    code = "user_exists"


class UserNotFound(NotFound):
    code = "user_not_found"


class InvalidCredentials(AccountError):
    code = "invalid_credentials"


class InvalidToken(AccountError):
    code = "invalid_token"


class InvalidAccountData(InvalidInput):
    code = "validation_error"


class Forbidden(PermissionDenied):
    """Authenticated, but not allowed."""

    code = "forbidden"
