"""The sandbox's error type: an API failure that becomes a JSON ``{"message": "<text> ERROR_CODE"}``
answer."""

from __future__ import annotations


class ApiError(Exception):
    """An error the fake API answers with ``status`` and a ``message`` body, like Dotmailer does."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(text: str, code: str = "ERROR_PARAMETER_INVALID") -> ApiError:
    """A 400 with the message style ``<text> ERROR_CODE``."""
    return ApiError(400, f"{text} {code}".strip())


def not_found(code: str) -> ApiError:
    """A 404 with the message style the vendor's own code expects, e.g. ``Error: ERROR_CONTACT_NOT_FOUND``."""
    return ApiError(404, f"Error: {code}")


class SeedError(ValueError):
    """A seed file (or dict) that cannot be loaded; the message says what is wrong and where."""
