"""What a handler gets: the account, the request, path parameters, and helpers for bodies, paging and
dates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from dotsync.sandbox.dates import parse_date
from dotsync.sandbox.errors import bad_request
from dotsync.sandbox.imports import ImportConfig
from dotsync.sandbox.messages import SandboxRequest
from dotsync.sandbox.state import Account

T = TypeVar("T")
MAX_SELECT = 1000


def lower_keys(value: Any) -> Any:
    """Lower-case every object key, recursively: request bodies are matched case-insensitively."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


@dataclass
class Ctx:
    """One authenticated call."""

    account: Account
    request: SandboxRequest
    params: dict[str, str]
    imports: ImportConfig
    api_endpoint: str | None
    hourly_limit: int | None
    removal_delay: float = 0.0

    def body(self) -> Any:
        """The JSON body with keys lower-cased; 400 ERROR_MALFORMED_REQUEST if it is not JSON."""
        try:
            return lower_keys(json.loads(self.request.body or b"null"))
        except ValueError:
            raise bad_request("The request body is not valid JSON.", "ERROR_MALFORMED_REQUEST") from None

    def object_body(self) -> dict[str, Any]:
        """The JSON body, which must be an object."""
        body = self.body()
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", "ERROR_MALFORMED_REQUEST")
        return body

    def query(self, name: str) -> str | None:
        """The first value of a query parameter (names are case-insensitive)."""
        values = self.request.query.get(name.lower())
        return values[0] if values else None

    def flag(self, name: str) -> bool:
        """A boolean query parameter (``true``/``false``, default false)."""
        value = self.query(name)
        if value is None or value.strip().lower() in ("", "false", "0"):
            return False
        if value.strip().lower() in ("true", "1"):
            return True
        raise bad_request(f"The value '{value}' is not valid for {name}.")

    def id(self, name: str = "id") -> int:
        """An integer path parameter."""
        return int(self.params[name])

    def date(self, name: str = "date") -> datetime:
        """A date path parameter in any form of reference §3.2; 400 otherwise."""
        try:
            return parse_date(self.params[name])
        except ValueError:
            raise bad_request(f"The date '{self.params[name]}' is not valid.") from None

    def page(self, items: Sequence[T]) -> Sequence[T]:
        """Apply ``select`` (1..1000, default 1000) and ``skip`` (>= 0, default 0)."""
        select = self._int_query("select", MAX_SELECT)
        skip = self._int_query("skip", 0)
        if not 1 <= select <= MAX_SELECT:
            raise bad_request(f"select must be between 1 and {MAX_SELECT}, got {select}.")
        if skip < 0:
            raise bad_request(f"skip must not be negative, got {skip}.")
        return items[skip : skip + select]

    def _int_query(self, name: str, default: int) -> int:
        value = self.query(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise bad_request(f"The value '{value}' is not valid for {name}.") from None
