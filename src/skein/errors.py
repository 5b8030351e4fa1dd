"""Skein's exceptions and the one JSON error shape every endpoint answers with.

    SkeinError (500)
    ├── BadRequest (400)
    ├── Unauthorized (401)
    ├── NotFound (404)
    ├── RequestTimeout (408)
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    └── Overloaded (503, with Retry-After)

Raise them anywhere below the HTTP layer; one handler in `skein.app` turns them into
`{"error": {"status": 400, "code": "bad_request", "message": "..."}, "message": "..."}`.
The top-level `message` repeats the text because Langfuse clients read that key.
"""

from __future__ import annotations

from typing import Any


class SkeinError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str]:
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in an ingestion worker process, it must arrive whole in the server.
        return (_restored, (type(self), self.message, dict(self.__dict__)))


def _restored(cls: type[SkeinError], message: str, state: dict[str, Any]) -> SkeinError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class BadRequest(SkeinError):
    status = 400
    code = "bad_request"


class Unauthorized(SkeinError):
    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="skein"'}


class NotFound(SkeinError):
    status = 404
    code = "not_found"


class RequestTimeout(SkeinError):
    """The client did not send its request body in time."""

    status = 408
    code = "request_timeout"

    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}


class PayloadTooLarge(SkeinError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(SkeinError):
    status = 415
    code = "unsupported_media_type"


class Overloaded(SkeinError):
    status = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def error_body(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of every error answer."""
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error, "message": message}
