"""End-to-end export rules against the sandbox, through the CLI, each test proving one rule of SPEC §5/§6."""

from __future__ import annotations

from sqlalchemy import select

from dotsync.db.models import Contact
from tests.support.world import World, emails, people


def test_initial_export_of_50_members_with_mapped_fields(world: World) -> None:
    rows = people(50)
    world.connect_list(
        rows,
        "--map",
        "first_name=FIRSTNAME",
        "--map",
        "last_name=LASTNAME",
        "--map",
        "first_name+last_name=FULLNAME",
        "--map",
        "city=CITY",
        "--create-datafields",
    )
    world.settle()
    assert world.book_emails("Customers") == emails(rows)
    fields = {k.upper(): v for k, v in world.contact_fields("person7@example.com").items()}
    assert fields["FIRSTNAME"] == "First7"
    assert fields["FULLNAME"] == "First7 Last7"
    assert fields["CITY"] == "City0"
    # Every exported contact got its Dotmailer id back through the contact import.
    members = world.json("list", "members", "customers")
    assert len(members) == 50
    with world.app.sessions()() as session:
        ids = dict(session.execute(select(Contact.email, Contact.origin_id)).all())
    expected = {}
    for email in emails(rows):
        made = world.account.contact_by_email(email)
        assert made is not None, email
        expected[email] = made.id
    assert ids == expected


def test_removal_keeps_contacts_added_elsewhere(world: World) -> None:
    rows = people(20)
    world.connect_list(rows)
    world.account.add_contacts("Customers", ["outsider1@else.org", "outsider2@else.org"])
    world.settle()
    for email in ("person1@example.com", "person2@example.com", "person3@example.com"):
        world.run("list", "remove", "customers", email)
    world.settle()
    book = world.book_emails("Customers")
    assert book == (emails(rows) - {"person1@example.com", "person2@example.com", "person3@example.com"}) | {
        "outsider1@else.org",
        "outsider2@else.org",
    }
    removed = {e.email for e in world.events(action="remove")}
    assert removed == {"person1@example.com", "person2@example.com", "person3@example.com"}


def test_unsubscribes_and_suppressions_are_never_re_exported(world: World) -> None:
    rows = people(10)
    world.connect_list(rows)
    world.settle()
    book_id = world.account.book("Customers").id
    world.account.unsubscribe("Customers", "person1@example.com")
    world.account.suppress("person2@example.com", reason="HardBounced")
    world.settle()
    members = {m["email"]: m for m in world.json("list", "members", "customers", "--state", "all")}
    assert members["person1@example.com"]["state"] == "unsubscribed"
    assert members["person2@example.com"]["state"] == "unsubscribed"
    # The member comes back in the list (a re-import, then a manual re-add): still never re-added.
    world.import_rows("customers", rows[:3])
    world.run("list", "add", "customers", "person1@example.com", "--resubscribe")
    world.settle()
    # dotsync never even tried: no upload after the opt-outs carries either email.
    for email in ("person1@example.com", "person2@example.com"):
        opted_out_at = min(
            e.seq for e in world.events(email=email) if e.action in ("unsubscribe", "suppress")
        )
        assert world.upload_count(email) == 1  # the initial export only
        assert not [e for e in world.events(action="add", email=email) if e.seq > opted_out_at]
    assert "person1@example.com" not in world.book_emails("Customers")
    assert world.sandbox.history.readded_after_optout(book_id) == []


def test_suppressed_email_in_faults_report_is_not_sent_twice(world: World) -> None:
    rows = people(5)
    world.connect_list(rows)
    world.account.suppress("person3@example.com", reason="Suppressed")
    # Export only (no import run): dotsync does not know about the suppression and sends the email.
    for _ in range(4):
        world.tick()
        world.run("dotmailer", "export")
    assert world.upload_count("person3@example.com") == 1
    member = next(
        m
        for m in world.json("list", "members", "customers", "--state", "all")
        if m["email"] == "person3@example.com"
    )
    assert member["state"] == "unsubscribed"
    assert member["reason"]
    assert "person3@example.com" not in world.book_emails("Customers")


def test_watchdog_rejection_does_not_loop(world: World) -> None:
    rows = people(8)
    world.sandbox.imports.watchdog_next = 1
    world.connect_list(rows)
    world.settle(4)
    assert len(world.uploads()) == 1
    removed = world.json("list", "members", "customers", "--state", "removed")
    assert {m["email"] for m in removed} == emails(rows)
    assert all("Watchdog" in m["reason"] for m in removed)


def test_one_changed_field_uploads_exactly_one_row(world: World) -> None:
    rows = people(30)
    world.connect_list(rows)
    world.settle()
    before = len(world.uploads())
    changed = [dict(rows[4], first_name="Changed")]
    world.import_rows("customers", changed)
    world.settle()
    new_uploads = world.uploads()[before:]
    assert len(new_uploads) == 1
    sent = world.uploaded_rows(new_uploads[0])
    assert [r["Email"] for r in sent] == ["person4@example.com"]
    assert sent[0]["FIRSTNAME"] == "Changed"


def test_unchanged_cycle_uploads_nothing(world: World) -> None:
    world.connect_list(people(25))
    world.settle()
    before = len(world.uploads())
    world.settle(2)
    assert len(world.uploads()) == before


def test_email_case_variants_never_make_two_contacts(world: World) -> None:
    rows = [
        {"email": "Mixed.Case@Example.com", "first_name": "A", "last_name": "B", "city": "X"},
        {"email": "mixed.case@example.COM", "first_name": "A", "last_name": "B", "city": "X"},
    ]
    world.connect_list(rows)
    world.run("list", "add", "customers", "MIXED.CASE@EXAMPLE.COM")
    world.settle()
    assert world.book_emails("Customers") == {"mixed.case@example.com"}
    assert world.upload_count("mixed.case@example.com") == 1
    assert len(world.json("list", "members", "customers")) == 1
