"""Transport-neutral request and response objects shared by the in-process transport and the loopback
server, and :class:`Handler`, what both front ends hand a request to (a :class:`~dotsync.sandbox.core.Sandbox`),
so neither imports the sandbox that imports them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs


@dataclass
class SandboxRequest:
    """One HTTP request as the sandbox sees it; header and query names are lower-cased."""

    method: str
    path: str  # raw (percent-encoded) path, without the query string
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = "http://sandbox.invalid"  # scheme://host[:port] the request came in on

    @classmethod
    def build(
        cls, method: str, target: str, headers: dict[str, str], body: bytes, base_url: str
    ) -> SandboxRequest:
        """Build from a request target (``/v2/x?select=1``) and raw headers."""
        path, _, query = target.partition("?")
        parsed = parse_qs(query, keep_blank_values=True)
        return cls(
            method=method.upper(),
            path=path,
            query={k.lower(): v for k, v in parsed.items()},
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            base_url=base_url,
        )


@dataclass
class SandboxResponse:
    """An answer: status, headers and body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> SandboxResponse:
        """A JSON answer (``application/json; charset=utf-8``)."""
        merged = {"content-type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, merged, json.dumps(payload).encode())

    @classmethod
    def message(cls, status: int, text: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        """The API's error body ``{"message": text}``."""
        return cls.json(status, {"message": text}, headers)

    @classmethod
    def empty(cls, status: int = 204) -> SandboxResponse:
        """An answer with no body (e.g. 204 after a delete)."""
        return cls(status, {}, b"")


@dataclass
class Outcome:
    """What the front end (transport or server) must do with a request.

    ``response`` is None when the connection is to be dropped without an answer. ``drop_after`` means the
    request was applied but the connection must die instead of delivering ``response``.
    """

    response: SandboxResponse | None
    drop_after: bool = False


class Handler(Protocol):
    """What the front ends (transport, server) answer requests with: a sandbox."""

    def handle(self, request: SandboxRequest) -> Outcome: ...
