"""The retry policy: what is retried, how long it waits, and the rule for non-idempotent POSTs."""

from __future__ import annotations

import pytest

from dotsync.dotmailer.errors import (
    ApiUsageExceededError,
    BadRequestError,
    DotmailerError,
    MalformedResponseError,
    RateLimitedError,
    ServerError,
    TooManyActiveImportsError,
    TransportError,
)
from dotsync.dotmailer.retry import RetryPolicy, retry_after_seconds, server_did_not_act
from tests.support import CLIENT_NOW
from tests.support.fakes import FixedRandom


def _transport(sent: bool) -> TransportError:
    error = TransportError("boom")
    error.sent = sent
    return error


def _limited(retry_after: float | None) -> RateLimitedError:
    error = RateLimitedError("slow down", status=429)
    error.retry_after = retry_after
    return error


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=2.0, max_delay=20.0)
    rng = FixedRandom(0.0)
    error = ServerError("x", status=500)
    delays = [policy.next_delay(error, attempt, idempotent=True, rng=rng) for attempt in range(1, 10)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0, 20.0, 20.0]


def test_jitter_only_shortens_the_wait() -> None:
    policy = RetryPolicy(base_delay=8.0, jitter=0.5)
    assert policy.next_delay(ServerError("x", status=500), 1, idempotent=True, rng=FixedRandom(1.0)) == 4.0
    assert policy.next_delay(ServerError("x", status=500), 1, idempotent=True, rng=FixedRandom(0.5)) == 6.0


def test_attempts_are_capped() -> None:
    policy = RetryPolicy(max_attempts=3)
    rng = FixedRandom(0.0)
    assert policy.next_delay(ServerError("x", status=500), 2, idempotent=True, rng=rng) is not None
    assert policy.next_delay(ServerError("x", status=500), 3, idempotent=True, rng=rng) is None


def test_rate_limit_hint_is_honoured_and_a_long_one_ends_retries() -> None:
    policy = RetryPolicy(max_delay=120.0)
    rng = FixedRandom(0.9)
    assert policy.next_delay(_limited(7.0), 1, idempotent=True, rng=rng) == 7.0
    assert policy.next_delay(_limited(0.0), 1, idempotent=True, rng=rng) == 0.0
    assert policy.next_delay(_limited(121.0), 1, idempotent=True, rng=rng) is None
    # Without a hint the normal backoff applies.
    assert policy.next_delay(_limited(None), 2, idempotent=True, rng=FixedRandom(0.0)) == 4.0


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("x", status=400),
        MalformedResponseError("x", status=200),
        ApiUsageExceededError("x", status=400),
        TooManyActiveImportsError("x", status=400),
        DotmailerError("x"),
    ],
)
def test_failures_that_repeat_identically_are_not_retried(error: DotmailerError) -> None:
    assert RetryPolicy().next_delay(error, 1, idempotent=True, rng=FixedRandom(0.0)) is None


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (_transport(sent=True), True, True),
        (_transport(sent=True), False, False),
        (_transport(sent=False), False, True),
        (ServerError("x", status=500), False, False),
        (ServerError("x", status=502), False, False),
        (ServerError("x", status=503), False, True),
        (ServerError("x", status=400, code="ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE"), False, True),
        (_limited(None), False, True),
        (BadRequestError("x", status=400), False, False),
    ],
)
def test_non_idempotent_calls_retry_only_when_the_server_did_not_act(
    error: DotmailerError, idempotent: bool, expected: bool
) -> None:
    assert RetryPolicy().is_retryable(error, idempotent=idempotent) is expected


def test_server_did_not_act() -> None:
    assert server_did_not_act(_limited(None))
    assert server_did_not_act(_transport(sent=False))
    assert not server_did_not_act(_transport(sent=True))
    assert not server_did_not_act(ServerError("x", status=504))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "Tue, 14 Nov 2023 22:14:20 GMT"}, 60.0),  # CLIENT_NOW is 22:13:20 GMT
        ({"Retry-After": "Tue, 14 Nov 2023 22:14:20 -0000"}, 60.0),
        ({"Retry-After": "soon"}, None),
        ({"x-ratelimit-reset": str(int(CLIENT_NOW) + 45)}, 45.0),
        ({"X-RateLimit-Reset": str(int(CLIENT_NOW) - 45)}, 0.0),
        ({"x-ratelimit-reset": "12"}, 12.0),
        ({"x-ratelimit-reset": "whenever"}, None),
        ({"Retry-After": "5", "x-ratelimit-reset": str(int(CLIENT_NOW) + 45)}, 5.0),
        ({}, None),
    ],
)
def test_retry_after_headers(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers, CLIENT_NOW) == expected


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter must be between 0 and 1"):
        RetryPolicy(jitter=1.5)
