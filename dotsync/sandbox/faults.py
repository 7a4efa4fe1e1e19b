"""Fault injection: knobs (changeable at runtime, seeded RNG) that make the sandbox fail like a real
network/API.

Every fault is decided *before* the request is applied, and a fault that replaces the answer (5xx, 429, drop)
never reaches the request handler, so it never changes state. The one deliberate exception is
``drop_after_apply``: the request IS applied and then the connection dies, as when a server acts and the
answer is lost on the way back (the case dotsync's never-lose-an-upload rule is about). It is off by default.

Kinds: ``"5xx"`` (JSON body), ``"5xx_html"`` (an HTML error page, as a proxy would send), ``"429"`` (with
``Retry-After`` and ``x-ratelimit-*`` headers), ``"slow"`` (a delay through the sandbox's injectable sleep),
``"drop"`` (connection closed without an answer), ``"drop_after_apply"``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from dotsync.sandbox.messages import SandboxResponse

FAULT_KINDS = ("5xx", "5xx_html", "429", "slow", "drop", "drop_after_apply")

_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class ScheduledFault:
    """A one-shot fault for the next ``times`` calls matching ``template``/``method`` (None = any)."""

    kind: str
    template: str | None = None
    method: str | None = None
    times: int = 1


@dataclass
class FaultDecision:
    """The faults chosen for one request (``kind`` replaces the answer; delay/drop_after come on top)."""

    kind: str | None = None  # "5xx" | "5xx_html" | "429" | "drop" | None
    status: int = 0
    delay: float = 0.0
    drop_after: bool = False

    @property
    def label(self) -> str | None:
        """The name written to the call log."""
        if self.kind is not None:
            return self.kind
        if self.drop_after:
            return "drop_after_apply"
        return "slow" if self.delay else None


@dataclass
class FaultConfig:
    """Fault knobs. Rates are probabilities per call in [0, 1]; all draws come from ``rng`` (seeded)."""

    seed: int = 0
    server_error_rate: float = 0.0
    server_error_statuses: tuple[int, ...] = (500, 502, 503)
    html_error_share: float = 0.5  # share of injected 5xx answered with an HTML page instead of JSON
    rate_limit_rate: float = 0.0
    retry_after: int = 2  # seconds, sent as Retry-After on injected 429s
    slow_rate: float = 0.0
    slow_seconds: float = 5.0
    drop_rate: float = 0.0
    drop_after_apply_rate: float = 0.0
    hourly_call_limit: int | None = 2000  # per account, rolling hour; None = unlimited
    usage_exceeded_status: int = 400
    endpoints: frozenset[str] | None = None  # templates subject to random faults; None = every endpoint
    scheduled: list[ScheduledFault] = field(default_factory=list)
    rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def reseed(self, seed: int | None = None) -> None:
        """Restart the RNG (with ``seed`` if given) so a run can be replayed."""
        if seed is not None:
            self.seed = seed
        self.rng = random.Random(self.seed)

    def schedule(
        self, kind: str, template: str | None = None, *, method: str | None = None, times: int = 1
    ) -> None:
        """Force ``kind`` on the next ``times`` calls matching ``template`` (None: any call).

        Templates are the call log's, e.g. ``/v2/address-books/{id}/contacts/import``.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        self.scheduled.append(ScheduledFault(kind, template, method.upper() if method else None, times))

    def clear(self) -> None:
        """Switch every random fault off and forget scheduled ones (the hourly limit is kept)."""
        self.server_error_rate = self.rate_limit_rate = self.slow_rate = 0.0
        self.drop_rate = self.drop_after_apply_rate = 0.0
        self.scheduled.clear()

    def decide(self, method: str, template: str) -> FaultDecision:
        """Choose this call's faults (scheduled ones first, then random draws)."""
        for item in self.scheduled:
            if (item.template is None or item.template == template) and (
                item.method is None or item.method == method
            ):
                item.times -= 1
                if item.times <= 0:
                    self.scheduled.remove(item)
                return self._forced(item.kind)
        decision = FaultDecision()
        if self.endpoints is not None and template not in self.endpoints:
            return decision
        if self._draw(self.drop_rate):
            decision.kind = "drop"
        elif self._draw(self.server_error_rate):
            html = self._draw(self.html_error_share)
            decision.kind = "5xx_html" if html else "5xx"
            decision.status = self.rng.choice(self.server_error_statuses)
        elif self._draw(self.rate_limit_rate):
            decision.kind, decision.status = "429", 429
        if self._draw(self.slow_rate):
            decision.delay = self.slow_seconds
        if decision.kind is None and self._draw(self.drop_after_apply_rate):
            decision.drop_after = True
        return decision

    def _forced(self, kind: str) -> FaultDecision:
        if kind == "slow":
            return FaultDecision(delay=self.slow_seconds)
        if kind == "drop_after_apply":
            return FaultDecision(drop_after=True)
        status = {"5xx": 500, "5xx_html": 502, "429": 429}.get(kind, 0)
        return FaultDecision(kind=kind, status=status)

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate


def fault_response(decision: FaultDecision, now: datetime, retry_after: int) -> SandboxResponse:
    """The answer for a decision whose kind replaces the real answer (5xx, 5xx_html, 429)."""
    if decision.kind == "429":
        reset = int(now.timestamp()) + retry_after
        headers = {
            "retry-after": str(retry_after),
            "x-ratelimit-limit": "100",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-scope": "medium",
        }
        return SandboxResponse.message(429, "Too many requests, please slow down.", headers)
    status = decision.status or 500
    if decision.kind == "5xx_html":
        reason = _REASONS.get(status, "Server Error")
        title = f"{status} {reason}"
        page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return SandboxResponse(status, {"content-type": "text/html; charset=utf-8"}, page.encode())
    return SandboxResponse.message(status, "An error has occurred.")
