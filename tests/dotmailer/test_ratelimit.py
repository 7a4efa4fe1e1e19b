"""Rate limits in the client (both schemes) and the rediscovery of a stale regional endpoint.

Time is the injected clock plus the fake sleep: no test sleeps for real.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from dotsync.dotmailer import DotmailerClient
from dotsync.dotmailer.errors import (
    AccessDeniedError,
    ApiUsageExceededError,
    AuthenticationError,
    BudgetExhaustedError,
    RateLimitedError,
    RateLimitWaitError,
)
from dotsync.dotmailer.ratelimit import RateLimitHit
from tests.support import API, CLIENT_NOW, ENDPOINT
from tests.support.fakes import FakeSleep
from tests.support.fixtures import MakeClient

from .conftest import (
    ACCOUNT_INFO,
    ADDRESS_BOOKS,
)

V2 = f"{ENDPOINT}/v2"
CAPPED = (
    "Your account has generated excess API activity and is being temporarily capped. ERROR_APIUSAGE_EXCEEDED"
)


class MovingClock:
    """An epoch clock that the fake sleep moves forward, so waits and resets line up as in real time."""

    def __init__(self, start: float = CLIENT_NOW) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _limited(reset: str, **extra: str) -> httpx.Response:
    headers = {"x-ratelimit-limit": "35", "x-ratelimit-reset": reset, "x-ratelimit-scope": "low", **extra}
    return httpx.Response(429, json={"message": "Too many requests"}, headers=headers)


def _book(**headers: str) -> httpx.Response:
    return httpx.Response(200, json=ADDRESS_BOOKS[0], headers=headers)


def _client(make_client: MakeClient, clock: MovingClock, **kwargs: Any) -> DotmailerClient:
    return make_client(clock=clock, sleep=clock.sleep, **kwargs)


def test_after_a_429_no_call_is_made_until_the_reset(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    clock = MovingClock()
    seen: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(clock.now)
        return _limited("42") if len(seen) == 1 else _book()

    respx_mock.get(f"{V2}/address-books/1").mock(side_effect=answer)
    client = _client(make_client, clock)
    assert client.get_address_book(1).id == 1
    assert clock.slept == [42.0]  # x-ratelimit-reset read as seconds until the reset
    assert seen == [CLIENT_NOW, CLIENT_NOW + 42]  # the second call only once the reset had passed
    hit = client.rate_limits.last_hit
    assert hit is not None
    assert (hit.scheme, hit.limit, hit.scope) == ("tiered", 35, "low")
    assert client.rate_limits.scheme == "tiered"
    assert hit.describe() == "429 on GET /v2/address-books/{id}, limit 35, scope low, reset after 42 s"


def test_a_reset_that_can_only_be_an_epoch_is_read_as_one(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    clock = MovingClock()
    respx_mock.get(f"{V2}/address-books/1").mock(side_effect=[_limited(str(int(CLIENT_NOW) + 17)), _book()])
    _client(make_client, clock).get_address_book(1)
    assert clock.slept == [17.0]


def test_retry_after_wins_over_the_reset(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    clock = MovingClock()
    respx_mock.get(f"{V2}/address-books/1").mock(
        side_effect=[_limited("50", **{"Retry-After": "9"}), _book()]
    )
    _client(make_client, clock).get_address_book(1)
    assert clock.slept == [9.0]


def test_a_wait_longer_than_max_wait_stops_without_calling_again(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    clock = MovingClock()
    route = respx_mock.get(f"{V2}/address-books/1").mock(return_value=_limited("600"))
    client = _client(make_client, clock, max_wait=240)
    with pytest.raises(RateLimitWaitError, match="resuming next run") as info:
        client.get_address_book(1)
    assert isinstance(info.value, BudgetExhaustedError)
    assert isinstance(info.value, RateLimitedError)
    assert info.value.retry_after == 600.0
    assert route.call_count == 1
    assert clock.slept == []
    assert client.rate_limits.blocked_until == CLIENT_NOW + 600
    # Any later call of this run is refused before it is sent.
    with pytest.raises(RateLimitWaitError):
        client.get_address_book(1)
    assert route.call_count == 1


def test_waits_add_up_to_max_wait_per_run(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    clock = MovingClock()
    respx_mock.get(f"{V2}/address-books/1").mock(side_effect=[_limited("150"), _book(), _limited("150")])
    client = _client(make_client, clock, max_wait=240)
    client.get_address_book(1)
    with pytest.raises(RateLimitWaitError, match="already waited 150 s"):
        client.get_address_book(1)
    assert clock.slept == [150.0]


def test_a_stored_resume_time_is_honoured_by_the_next_run(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    route = respx_mock.get(f"{V2}/address-books/1").mock(return_value=_book())
    early = MovingClock()
    with pytest.raises(RateLimitWaitError):
        _client(make_client, early, max_wait=60, blocked_until=CLIENT_NOW + 300).get_address_book(1)
    assert route.call_count == 0  # no call at all before the reset
    later = MovingClock()
    assert _client(make_client, later, max_wait=60, blocked_until=CLIENT_NOW + 30).get_address_book(1).id == 1
    assert later.slept == [30.0]
    assert route.call_count == 1


def test_pacing_waits_for_the_reset_instead_of_drawing_a_429(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    clock = MovingClock()
    answers = [
        _book(**{"x-ratelimit-limit": "35", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "20"}),
        _book(**{"x-ratelimit-limit": "100", "x-ratelimit-remaining": "2", "x-ratelimit-reset": "30"}),
        _book(**{"x-ratelimit-limit": "100", "x-ratelimit-remaining": "50", "x-ratelimit-reset": "30"}),
        _book(),
    ]
    route = respx_mock.get(f"{V2}/address-books/1").mock(side_effect=answers)
    client = _client(make_client, clock)
    for _ in range(4):
        client.get_address_book(1)
    # nothing left: wait the 20 s to the reset; 2 of 100 left: spread 30 s over the 3 calls; 50 left: no wait.
    assert clock.slept == [20.0, 10.0]
    assert route.call_count == 4
    assert client.rate_limits.last_hit is None


def test_repeated_429s_stop_the_run_after_max_attempts(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    clock = MovingClock()
    route = respx_mock.get(f"{V2}/address-books/1").mock(return_value=_limited("5"))
    with pytest.raises(RateLimitWaitError, match="refused 3 time"):
        _client(make_client, clock, max_attempts=3).get_address_book(1)
    assert route.call_count == 3
    assert clock.slept == [5.0, 5.0]


def test_a_429_without_any_hint_backs_off(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    clock = MovingClock()
    respx_mock.get(f"{V2}/address-books/1").mock(side_effect=[httpx.Response(429), _book()])
    client = _client(make_client, clock)
    client.get_address_book(1)
    assert clock.slept == [2.0]
    assert client.rate_limits.last_hit is not None
    assert client.rate_limits.last_hit.reset_at is None


def test_the_flat_hourly_scheme(respx_mock: respx.MockRouter, make_client: MakeClient) -> None:
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=ACCOUNT_INFO))
    respx_mock.get(f"{V2}/address-books/1").mock(return_value=httpx.Response(400, json={"message": CAPPED}))
    client = make_client(endpoint=None)
    client.connect()
    assert client.rate_limits.scheme == "hourly"
    assert client.calls_remaining == 1985
    assert not client.rate_limits.scheme_certain  # a tiered account may report an hourly figure too
    with pytest.raises(ApiUsageExceededError):
        client.get_address_book(1)
    assert client.rate_limits.scheme_certain
    hit = client.rate_limits.last_hit
    assert hit is not None
    assert hit.scheme == "hourly"
    assert hit.describe() == "hourly allowance spent on GET /v2/address-books/{id} (ERROR_APIUSAGE_EXCEEDED)"


def test_per_minute_headers_mark_the_account_tiered_even_with_an_hourly_figure(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    respx_mock.get(f"{API}/v2/account-info").mock(return_value=httpx.Response(200, json=ACCOUNT_INFO))
    respx_mock.get(f"{V2}/address-books/1").mock(
        return_value=_book(
            **{"x-ratelimit-limit": "35", "x-ratelimit-remaining": "30", "x-ratelimit-reset": "40"}
        )
    )
    client = make_client(endpoint=None)
    client.connect()
    client.get_address_book(1)
    assert client.rate_limits.scheme == "tiered"


def test_hit_description_without_details() -> None:
    assert RateLimitHit("tiered", "GET /v2/x", CLIENT_NOW).describe() == "429 on GET /v2/x"


# --- endpoint rediscovery -------------------------------------------------------------------------------------


def _info(endpoint: str) -> dict[str, Any]:
    props = [p for p in ACCOUNT_INFO["properties"] if p["name"] != "ApiEndpoint"]
    return {
        **ACCOUNT_INFO,
        "properties": [*props, {"name": "ApiEndpoint", "type": "String", "value": endpoint}],
    }


def test_a_stale_endpoint_is_rediscovered_once(
    respx_mock: respx.MockRouter, make_client: MakeClient, fake_sleep: FakeSleep
) -> None:
    stale = "https://r2-api.dotdigital.com"
    fresh = "https://r3-api.dotdigital.com"
    info = respx_mock.get(f"{API}/v2/account-info").mock(
        return_value=httpx.Response(200, json=_info(fresh + "/"))
    )
    respx_mock.get(f"{stale}/v2/address-books/1").mock(
        return_value=httpx.Response(403, json={"message": "Forbidden: Access is denied"})
    )
    moved = respx_mock.get(f"{fresh}/v2/address-books/1").mock(return_value=_book())
    client = make_client(endpoint=stale)
    assert client.get_address_book(1).id == 1
    assert client.endpoint == fresh
    assert info.call_count == 1
    assert moved.call_count == 1
    # Once per client: a second refusal on the new endpoint is an error, not another discovery.
    moved.mock(
        return_value=httpx.Response(401, json={"message": "Authorization has been denied for this request."})
    )
    with pytest.raises(AuthenticationError, match="denied"):
        client.get_address_book(1)
    assert info.call_count == 1


def test_a_refusal_from_an_endpoint_that_did_not_move_stands(
    respx_mock: respx.MockRouter, make_client: MakeClient
) -> None:
    info = respx_mock.get(f"{API}/v2/account-info").mock(
        return_value=httpx.Response(200, json=_info(ENDPOINT + "/"))
    )
    route = respx_mock.get(f"{V2}/address-books/1").mock(
        return_value=httpx.Response(403, json={"message": "Forbidden: Access is denied"})
    )
    with pytest.raises(AccessDeniedError, match="Forbidden"):
        make_client().get_address_book(1)
    assert info.call_count == 1
    assert route.call_count == 1
