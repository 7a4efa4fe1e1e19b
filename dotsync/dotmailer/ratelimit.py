"""Dotmailer's two rate-limit schemes, as the HTTP layer sees them: waiting, pacing, and when to give up.

No database knowledge here: the client asks :meth:`RateLimiter.before_call` before every attempt and reports
every answer; the sync layer reads :attr:`RateLimiter.scheme`, :attr:`RateLimiter.last_hit` and
:attr:`RateLimiter.blocked_until` afterwards to store them (``dotsync status`` shows them) and passes
``blocked_until`` back next run, so a run that starts before the reset makes no call at all.

* **Tiered, per minute** (API reference §11, §15): over the limit Dotmailer answers 429 with
  ``x-ratelimit-limit``, ``x-ratelimit-reset`` and ``x-ratelimit-scope`` (maybe ``Retry-After``). The reset is
  read as seconds until the reset, or as epoch seconds when the value can only be one (see
  :func:`~dotsync.dotmailer.retry.retry_after_seconds`). After a 429 **no call** is made until the reset has
  passed. When answers carry ``x-ratelimit-remaining`` (unknown whether the real API sends it on successful
  answers; the sandbox can), the client paces itself: with nothing left it waits for the reset instead of
  drawing a 429, and below a tenth of the limit it spreads the calls left over the time left.
* **Flat, hourly**: ``ApiCallsRemaining`` in account-info and ``ERROR_APIUSAGE_EXCEEDED``; the client's
  ``safety_margin``, checked before every attempt just before :meth:`RateLimiter.before_call`, handles it.
  Seeing either marks the scheme ``hourly`` unless ``x-ratelimit-*`` headers were seen (``tiered`` wins:
  account-info may still report an hourly figure).
* **Giving up.** dotsync runs from cron every few minutes, so a run must not sleep longer than that: a wait
  that would take the run's total rate-limit waiting past ``max_wait`` seconds (default 240, the cron
  interval) raises :class:`~dotsync.dotmailer.errors.RateLimitWaitError` without sleeping. It is a
  :class:`~dotsync.dotmailer.errors.BudgetExhaustedError`, so the sync stops early (exit 0, "resuming next
  run") with its progress and watermarks kept.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dotsync.dotmailer.errors import RateLimitWaitError

logger = logging.getLogger("dotsync.dotmailer")

TIERED = "tiered"
HOURLY = "hourly"
DEFAULT_MAX_WAIT = 240.0  # seconds: dotsync's cron interval (crontab.example runs every 4 minutes)
# Pace only when fewer than this share of the tier's limit is left, so a healthy account runs at full speed.
PACE_BELOW_SHARE = 0.1
# A tier with no reset announced is assumed to reset within a minute (the tiers are per minute).
DEFAULT_WINDOW = 60.0


@dataclass(frozen=True)
class RateLimitHit:
    """The last time a limit was hit: which scheme, which call, what the server said, when it resets."""

    scheme: str
    call: str
    at: float  # epoch seconds (the client's clock)
    limit: int | None = None
    scope: str | None = None
    reset_at: float | None = None  # epoch seconds when calls may resume; None when the server did not say
    refused: bool = True  # False: the headers said nothing was left, so the client stopped before a 429

    def describe(self) -> str:
        if self.scheme == HOURLY:
            return f"hourly allowance spent on {self.call} (ERROR_APIUSAGE_EXCEEDED)"
        parts = [
            f"429 on {self.call}" if self.refused else f"no calls left before {self.call} (paced, no 429)"
        ]
        if self.limit is not None:
            parts.append(f"limit {self.limit}")
        if self.scope:
            parts.append(f"scope {self.scope}")
        if self.reset_at is not None:
            parts.append(f"reset after {max(0.0, self.reset_at - self.at):.0f} s")
        return ", ".join(parts)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except ValueError:
        return None


class RateLimiter:
    """Per-client rate-limit state. ``clock`` returns epoch seconds; ``sleep`` waits (tests pass fakes)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        max_wait: float | None = DEFAULT_MAX_WAIT,
        blocked_until: float | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.max_wait = max_wait
        self.blocked_until = blocked_until
        self.scheme: str | None = None
        # False while the scheme rests only on account-info's ApiCallsRemaining, which a tiered account may
        # report too: a stored "tiered" is then kept (the sync layer decides).
        self.scheme_certain = False
        self.last_hit: RateLimitHit | None = None
        self.waited = 0.0
        self._remaining: int | None = None
        self._limit: int | None = None
        self._reset_at: float | None = None
        self._scope: str | None = None

    # --- before a call ----------------------------------------------------------------------------------------

    def before_call(self, call: str) -> None:
        """Wait as the limits require, or raise :class:`RateLimitWaitError` when that wait is too long."""
        now = self._clock()
        wait = 0.0
        reason = ""
        if self.blocked_until is not None and self.blocked_until > now:
            wait, reason = self.blocked_until - now, "the rate limit resets"
        elif self._remaining is not None and self._limit:
            reset_in = (self._reset_at - now) if self._reset_at is not None else DEFAULT_WINDOW
            if reset_in > 0 and self._remaining <= 0:
                wait, reason = reset_in, "the tier's calls are used up until its reset"
            elif reset_in > 0 and self._remaining < self._limit * PACE_BELOW_SHARE:
                wait, reason = reset_in / (self._remaining + 1), "pacing: few calls left in this minute"
        if wait <= 0:
            self.blocked_until = None
            return
        wait = math.ceil(wait * 1000) / 1000  # whole milliseconds, never waking before the reset
        if self.max_wait is not None and self.waited + wait > self.max_wait:
            self.blocked_until = max(self.blocked_until or 0.0, now + wait)
            if reason.startswith(("pacing", "the tier's")):  # a wait after a 429 was recorded with the 429
                self.last_hit = RateLimitHit(
                    scheme=TIERED,
                    call=call,
                    at=now,
                    limit=self._limit,
                    scope=self._scope,
                    reset_at=now + wait,
                    refused=False,
                )
            error = RateLimitWaitError(
                f"Dotmailer's rate limit asks to wait {wait:.0f} s before {call} (already waited "
                f"{self.waited:.0f} s this run, at most {self.max_wait:.0f} s); stopping here, resuming next run",
                call=call,
            )
            error.retry_after = wait
            raise error
        logger.info("waiting %.1f s before %s: %s", wait, call, reason)
        self._sleep(wait)
        self.waited += wait
        self.blocked_until = None
        if self._remaining is not None and self._remaining <= 0:
            # The reset has passed: the next answer's headers say what the new window holds.
            self._remaining = None

    # --- after an answer --------------------------------------------------------------------------------------

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read ``x-ratelimit-*`` headers from any answer (2xx or not)."""
        lowered = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}
        if not lowered:
            return
        self.scheme, self.scheme_certain = TIERED, True
        limit = _int_header(lowered, "x-ratelimit-limit")
        remaining = _int_header(lowered, "x-ratelimit-remaining")
        if limit is not None:
            self._limit = limit
        scope = (lowered.get("x-ratelimit-scope") or "").strip()
        if scope:
            self._scope = scope
        if remaining is not None:
            self._remaining = remaining
            self._reset_at = self._reset_time(lowered)

    def _reset_time(self, lowered: Mapping[str, str]) -> float | None:
        from dotsync.dotmailer.retry import retry_after_seconds

        reset_in = retry_after_seconds(
            {"x-ratelimit-reset": lowered.get("x-ratelimit-reset", "")}, self._clock()
        )
        return None if reset_in is None else self._clock() + reset_in

    def saw_hourly_allowance(self) -> None:
        """account-info carried ``ApiCallsRemaining`` (the flat scheme), unless per-minute headers were seen."""
        if self.scheme is None:
            self.scheme = HOURLY

    def hit_tiered(
        self, call: str, headers: Mapping[str, str], retry_after: float | None, fallback: float
    ) -> None:
        """A 429: remember it and make no call until the reset (``fallback`` seconds when none was given)."""
        self.observe(headers)
        self.scheme, self.scheme_certain = TIERED, True
        now = self._clock()
        wait = retry_after if retry_after is not None else fallback
        lowered = {k.lower(): v for k, v in headers.items()}
        self.blocked_until = now + max(0.0, wait)
        self._remaining = None
        self.last_hit = RateLimitHit(
            scheme=TIERED,
            call=call,
            at=now,
            limit=_int_header(lowered, "x-ratelimit-limit"),
            scope=(lowered.get("x-ratelimit-scope") or "").strip() or None,
            reset_at=self.blocked_until if retry_after is not None else None,
        )

    def hit_hourly(self, call: str) -> None:
        """``ERROR_APIUSAGE_EXCEEDED``: the flat hourly allowance is spent."""
        if not self.scheme_certain:
            self.scheme, self.scheme_certain = HOURLY, True
        self.last_hit = RateLimitHit(scheme=HOURLY, call=call, at=self._clock())
