"""Request routing: path templates such as ``/v2/address-books/{id}/contacts`` matched to handlers per method.

Matching is case-insensitive and tolerates one trailing slash, like the real (ASP.NET) API. Parameters named
``id`` or ``*Id`` (except ``importId``) match digits only, so ``/v2/campaigns/with-activity-since/...`` never
reaches ``/v2/campaigns/{id}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

_PARAM = re.compile(r"\{(\w+)\}")

Handler = Callable[[Any], Any]


def _param_pattern(name: str) -> str:
    if name == "id" or (name.endswith("Id") and name != "importId"):
        return rf"(?P<{name}>\d+)"
    return rf"(?P<{name}>[^/]+)"


@dataclass
class Route:
    """One path template and its handlers keyed by HTTP method."""

    template: str
    pattern: re.Pattern[str]
    handlers: dict[str, Handler] = field(default_factory=dict)


class Router:
    """Ordered list of routes; the first template whose pattern matches wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._by_template: dict[str, Route] = {}

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` on ``template``."""
        route = self._by_template.get(template)
        if route is None:
            regex = (
                "^"
                + _PARAM.sub(
                    lambda m: _param_pattern(m.group(1)),
                    re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
                )
                + "/?$"
            )
            route = Route(template, re.compile(regex, re.IGNORECASE))
            self.routes.append(route)
            self._by_template[template] = route
        route.handlers[method.upper()] = handler

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a raw path and its (percent-decoded) parameters, or None."""
        for route in self.routes:
            found = route.pattern.match(path)
            if found is not None:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None
