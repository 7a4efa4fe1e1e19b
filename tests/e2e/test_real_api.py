"""Issue 14, through the CLI against the sandbox: the per-minute rate limit ends a run cleanly and the next run
makes no call before the reset; one malformed activity row is skipped and reported while the rest is kept;
an expired faults report settles the upload without it. Runs on SQLite and PostgreSQL like the whole suite."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from dotsync.sandbox.ratelimit import RateLimit
from tests.support.world import World, people


def _connected(world: World, n: int = 5) -> None:
    world.connect_list(people(n))


def _last_run(world: World, kind: str) -> dict[str, Any]:
    runs = world.json("runs", "--integration", "acme")
    return next(r for r in runs if r["kind"] == kind)


def test_a_rate_limit_longer_than_a_run_may_wait_ends_it_cleanly(world: World) -> None:
    world.account.create_book("Customers")
    world.sandbox.rate_limit = RateLimit(
        3, 600
    )  # 3 calls per 10 minutes: the 4th call of the import is refused
    result = world.run("integration", "sync")  # exit 0: stopped early, not failed
    assert "resuming next run" in result.stdout + result.stderr
    run = _last_run(world, "import")
    assert run["outcome"] == "stopped_early"
    steps = {s["name"]: s["outcome"] for s in run["steps"]}
    assert steps["address_book"] == "success"  # what was done before the limit is kept
    [status] = world.json("status")
    limit = status["rate_limit"]
    assert limit["scheme"] == "tiered"
    assert limit["last_hit"].startswith("no calls left before GET ")
    assert "limit 3" in limit["last_hit"]
    assert limit["resume_at"] is not None
    text = world.run("status").stdout
    assert "rate limits: per-minute tiers (429)" in text
    assert "no call before" in text

    # The next cron run, 4 minutes later, is still before the reset: it makes no call at all.
    world.tick()
    refused_before = sum(1 for c in world.sandbox.calls.records if c.status == 429)
    world.run("integration", "sync")
    again = _last_run(world, "import")
    assert again["outcome"] == "stopped_early"
    assert again["api_calls"] == 0
    assert sum(1 for c in world.sandbox.calls.records if c.status == 429) == refused_before

    # After the reset the import completes, and status no longer announces a wait.
    world.tick(minutes=7)
    world.run("integration", "sync")
    assert _last_run(world, "import")["outcome"] == "success"
    [status] = world.json("status")
    assert status["rate_limit"]["resume_at"] is None
    assert status["rate_limit"]["scheme"] == "tiered"
    # A run whose answers carry no per-minute headers (only account-info's hourly figure) keeps "tiered".
    world.sandbox.rate_limit = None
    world.tick()
    world.run("integration", "sync")
    assert world.json("status")[0]["rate_limit"]["scheme"] == "tiered"


def test_a_short_rate_limit_is_waited_out_within_the_run(world: World) -> None:
    world.account.create_book("Customers")
    world.sandbox.rate_limit = RateLimit(2, 60)  # reset within the run's allowance: waited out, not stopped
    slept: list[float] = []
    world.app.sleep = lambda seconds: (slept.append(seconds), world.sandbox.advance(seconds=seconds))[0]
    world.run("integration", "sync")
    assert _last_run(world, "import")["outcome"] == "success"
    assert slept
    assert all(0 < s <= 60 for s in slept)
    assert not [c for c in world.sandbox.calls.records if c.status == 429]  # paced: never refused


class CorruptActivities(httpx.BaseTransport):
    """Passes every call to the sandbox, but writes a malformed date into one row of each activities page."""

    def __init__(self, inner: httpx.BaseTransport, email: str) -> None:
        self.inner = inner
        self.email = email

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not re.search(r"/campaigns/\d+/activities", request.url.path) or response.status_code != 200:
            return response
        rows = json.loads(response.read())
        for row in rows:
            if row["email"] == self.email:
                row["dateSent"] = "2020-01-021T09:40:18.527"  # the vendor's own malformed example
        return httpx.Response(200, json=rows, request=request)


def test_one_malformed_activity_row_is_skipped_and_reported(world: World) -> None:
    _connected(world)
    world.settle()
    book = world.account.book("Customers")
    world.account.send_campaign("Spring", [book], opens=["person0@example.com", "person1@example.com"])
    transport = world.app.transport
    assert transport is not None
    world.app.transport = CorruptActivities(transport, "person1@example.com")
    world.tick()
    world.run("integration", "sync")
    run = _last_run(world, "import")
    assert run["outcome"] == "success"
    activity = next(s for s in run["steps"] if s["name"] == "activity_contact")
    assert activity["outcome"] == "success"
    assert activity["counts"]["skipped_rows"] == 1
    notes = run["counts"]["notes"]
    assert any(
        "activity_contact: /v2/campaigns/" in note
        and "dateSent (email person1@example.com) = '2020-01-021T09:40:18.527'" in note
        for note in notes
    ), notes
    shown = world.json("campaigns", "show", "Spring")
    statistics = {s["email"]: s for s in shown["statistics"]}
    assert set(statistics) == {f"person{i}@example.com" for i in (0, 2, 3, 4)}  # the rest of the page kept
    assert statistics["person0@example.com"]["open_count"] >= 1


def test_an_expired_faults_report_settles_the_upload_without_it(world: World) -> None:
    _connected(world)
    world.sandbox.imports.faults_ttl = 60
    world.cycle()  # uploads the members
    assert world.uploads()
    world.sandbox.finish_imports()  # Dotmailer finished it ...
    world.tick(minutes=10)  # ... and its report is gone by the time dotsync polls
    result = world.run("dotmailer", "export", "--json")
    [outcome] = json.loads(result.stdout)
    assert outcome["outcome"] == "success"
    assert any("faults report is no longer available" in note for note in outcome["notes"])
    assert any(
        "faults report is no longer available" in n for n in _last_run(world, "export")["counts"]["notes"]
    )
    [status] = world.json("status")
    assert status["books"][0]["sync_status"] == "Finished, faults report gone"
    assert not status["problems"]
    # Never a failure on later runs.
    world.cycle()
    world.cycle()
    assert _last_run(world, "export")["outcome"] == "success"


class FaultsReport(httpx.BaseTransport):
    """Passes every call to the sandbox, but answers the faults report with a given CSV."""

    def __init__(self, inner: httpx.BaseTransport, text: str) -> None:
        self.inner = inner
        self.text = text

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/report-faults") and response.status_code == 200:
            headers = {"content-type": "application/octet-stream"}
            return httpx.Response(200, content=self.text.encode(), headers=headers, request=request)
        return response


def test_a_duplicate_fault_row_does_not_fail_the_member(world: World) -> None:
    _connected(world)
    transport = world.app.transport
    assert transport is not None
    world.app.transport = FaultsReport(
        transport,
        "\ufeffReason,Email\r\n"
        "Duplicate,person0@example.com\r\n"  # another row of this email was imported
        "Invalid Email,person1@example.com\r\n"
        "Duplicate,person1@example.com\r\n",  # a real fault of the same email still counts
    )
    world.settle()
    members = {m["email"]: m["state"] for m in world.json("list", "members", "customers", "--state", "all")}
    assert members["person0@example.com"] == "subscribed"
    assert members["person1@example.com"] == "removed"
    assert members["person2@example.com"] == "subscribed"


class CorruptSummary(httpx.BaseTransport):
    """Passes every call to the sandbox, but writes a malformed date into one campaign's summary."""

    def __init__(self, inner: httpx.BaseTransport, campaign_id: int) -> None:
        self.inner = inner
        self.path = f"/v2/campaigns/{campaign_id}/summary"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != self.path or response.status_code != 200:
            return response
        summary = json.loads(response.read())
        summary["dateSent"] = "2020-01-021T09:40:18.527"
        return httpx.Response(200, json=summary, request=request)


def test_one_unreadable_summary_does_not_cost_the_others(world: World) -> None:
    _connected(world)
    world.settle()
    book = world.account.book("Customers")
    spring = world.account.send_campaign("Spring", [book], opens=["person0@example.com"])
    world.account.send_campaign("Summer", [book], opens=["person1@example.com"])
    transport = world.app.transport
    assert transport is not None
    world.app.transport = CorruptSummary(transport, spring.id)
    world.tick()
    world.run("integration", "sync")
    run = _last_run(world, "import")
    summary_step = next(s for s in run["steps"] if s["name"] == "campaign_summary")
    assert summary_step["outcome"] == "success"
    assert summary_step["counts"]["read"] == 1
    assert any(f"campaign {spring.id}: summary skipped" in note for note in run["counts"]["notes"])
    assert world.json("campaigns", "show", "Summer")["summary"] is not None
    assert world.json("campaigns", "show", "Spring")["summary"] is None
    # The next run asks for the skipped summary again and, the answer being good now, stores it.
    world.app.transport = transport
    world.tick()
    world.run("integration", "sync")
    assert world.json("campaigns", "show", "Spring")["summary"] is not None


class CorruptOptOutDates(httpx.BaseTransport):
    """Passes every call to the sandbox, but makes every opt-out's dateRemoved unreadable."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if (
            not re.search(r"/(unsubscribed|suppressed)-since/", request.url.path)
            or response.status_code != 200
        ):
            return response
        rows = json.loads(response.read())
        for row in rows:
            row["dateRemoved"] = "2020-01-021T09:40:18"
        return httpx.Response(200, json=rows, request=request)


def test_an_opt_out_with_an_unreadable_date_is_not_lost(world: World) -> None:
    _connected(world)
    world.settle()
    world.account.suppress("person2@example.com", "Unsubscribed")
    transport = world.app.transport
    assert transport is not None
    world.app.transport = CorruptOptOutDates(transport)
    world.tick()
    world.run("integration", "sync")
    run = _last_run(world, "import")
    step = next(s for s in run["steps"] if s["name"] == "unsubscribed_contact")
    assert step["outcome"] == "success"
    assert step["counts"]["values_ignored"] >= 1
    assert any("value ignored, row kept" in note for note in run["counts"]["notes"])
    members = {m["email"]: m["state"] for m in world.json("list", "members", "customers", "--state", "all")}
    assert members["person2@example.com"] == "unsubscribed"
