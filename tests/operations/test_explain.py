"""`dotsync explain EMAIL`: why a person is (not) in a book, from the real cycle's data (issue 16, item 6)."""

from __future__ import annotations

from typing import Any

from tests.support.world import World


def _explain(world: World, email: str, *extra: str) -> dict[str, Any]:
    return world.json("explain", email, *extra)


def test_a_member_in_the_book(world: World) -> None:
    view = _explain(world, "  Person1@Example.com ")
    assert view["email"] == "person1@example.com"
    assert view["known"] is True
    (verdict,) = view["verdicts"]
    assert verdict == {
        "list": "customers",
        "book": "Customers",
        "in_book": True,
        "why": "in the book, up to date",
    }
    (member,) = view["lists"]
    assert member["state"] == "subscribed"
    assert member["book"] == "Customers"
    (contact,) = view["contacts"]
    assert contact["integration"] == "acme"
    assert contact["dotmailer_id"] is not None
    (book,) = contact["books"]
    assert book["added_by_dotsync"] is True
    assert book["status"] == "Subscribed"
    assert book["last_upload"]["status"] == "Finished"
    assert book["last_sent_at"] is not None
    events = [e["event"] for e in view["timeline"]]
    assert events[0] == "added to list 'customers'"
    assert any(e.startswith("upload ") and "ended Finished" in e for e in events)
    times = [e["time"] for e in view["timeline"]]
    assert times == sorted(times)
    text = world.run("explain", "person1@example.com").stdout
    assert "in the book" in text
    assert "Customers" in text
    assert "Timeline" in text


def test_an_opt_out_in_dotmailer_and_a_local_removal(world: World) -> None:
    world.account.unsubscribe("Customers", "person2@example.com")
    world.cycle()
    view = _explain(world, "person2@example.com")
    (verdict,) = view["verdicts"]
    assert verdict["in_book"] is False
    assert "opted out in Dotmailer" in verdict["why"]
    assert any(o["scope"] == "book" and o["book"] == "Customers" for o in view["opt_outs"]), view["opt_outs"]
    assert view["lists"][0]["state"] == "unsubscribed"
    # A local removal before the next export: a pending removal, said as such.
    world.run("list", "remove", "customers", "person3@example.com")
    view = _explain(world, "person3@example.com")
    (verdict,) = view["verdicts"]
    assert verdict["in_book"] is True
    assert "removed in the list" in verdict["why"]
    assert "removed from the book at the next export" in verdict["why"]
    assert [r["book"] for r in view["pending_removals"]] == ["Customers"]
    world.cycle()
    view = _explain(world, "person3@example.com")
    assert view["pending_removals"] == []
    assert view["verdicts"][0]["in_book"] is False


def test_a_member_not_sent_yet(world: World) -> None:
    world.run("list", "add", "customers", "new@example.com")
    (verdict,) = _explain(world, "new@example.com")["verdicts"]
    assert verdict["in_book"] is False
    assert "not sent yet" in verdict["why"]


def test_unknown_and_invalid_emails(world: World) -> None:
    result = world.run("explain", "nobody@example.com")
    assert "not known" in result.stdout
    assert _explain(world, "nobody@example.com")["known"] is False
    bad = world.run("explain", "not-an-email", expect=2)
    assert "not a valid email" in bad.stderr
    world.run("explain", "person1@example.com", "--integration", "nope", expect=2)
    assert _explain(world, "person1@example.com", "--integration", "acme")["known"] is True
