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


class TooManyAttempts(AccountError):
    """Too many sign-in attempts in the current minute; `retry_after` is in seconds."""

    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


class SignInLocked(TooManyAttempts):
    """The user name failed to sign in ten times or more in a row and is locked for a
    while (doubling with each further failure); `retry_after` is in seconds."""

    code = "sign_in_locked"
