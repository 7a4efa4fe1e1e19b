"""CLI tests for the member commands, listings (`ls`, `show`, `members`) and `delete`."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from dotsync.cli.context import AppContext
from dotsync.db.models import AddressBook, Integration, ListMember, MarketingList
from dotsync.services import lists as svc
from tests.lists.conftest import NOW, list_names, members_of


def make_list(cli_run, write_csv, name: str = "news") -> None:
    path = write_csv("email,name\nann@x.com,Ann\nbob@x.com,Bob\ncy@x.com,Cy\ndee@x.com,Dee\n", f"{name}.csv")
    result = cli_run("list", "create", name, "--csv", str(path))
    assert result.exit_code == 0, result.stderr


def connect(app: AppContext, list_name: str) -> None:
    with app.sessions().begin() as session:
        integration = Integration(
            name="acct",
            username="apiuser@example.com",
            password_encrypted="x",
            api_url="https://r1-api.dotdigital.com",
        )
        marketing_list = svc.get_list(session, list_name)
        session.add(
            AddressBook(
                integration=integration,
                origin_id=101,
                name="Newsletter",
                marketing_list=marketing_list,
                connected_at=NOW,
            )
        )


def test_members_json_shape_and_state_filter(cli_run, write_csv) -> None:
    make_list(cli_run, write_csv)
    assert cli_run("list", "unsubscribe", "news", "bob@x.com").exit_code == 0
    assert cli_run("list", "remove", "news", "CY@x.com").exit_code == 0

    result = cli_run("list", "members", "news", "--json")
    assert result.exit_code == 0, result.stderr
    members = json.loads(result.stdout)
    assert [m["email"] for m in members] == ["ann@x.com", "dee@x.com"]
    first = members[0]
    assert set(first) >= {"email", "state", "reason", "changed_at", "fields"}
    assert first["state"] == "subscribed"
    assert first["reason"] is None
    assert first["fields"] == {"name": "Ann"}
    assert first["current"] is True
    assert first["changed_at"].startswith("20")

    unsub = json.loads(cli_run("list", "members", "news", "--state", "unsubscribed", "--json").stdout)
    assert [(m["email"], m["state"], m["reason"]) for m in unsub] == [
        ("bob@x.com", "unsubscribed", "unsubscribed by user")
    ]
    removed = json.loads(cli_run("list", "members", "news", "--state", "removed", "--json").stdout)
    assert [(m["email"], m["reason"]) for m in removed] == [("cy@x.com", "removed by user")]
    everyone = json.loads(cli_run("list", "members", "news", "--state", "all", "--json").stdout)
    assert len(everyone) == 4

    plain = cli_run("list", "members", "news")
    assert plain.stdout.splitlines()[0] == "email\tstate\tchanged_at\treason"
    assert plain.stdout.splitlines()[1].startswith("ann@x.com\tsubscribed\t")

    assert cli_run("list", "members", "news", "--state", "bogus").exit_code == 2


def test_members_json_of_an_empty_list_is_an_empty_array(cli_run) -> None:
    assert cli_run("list", "create", "empty").exit_code == 0
    result = cli_run("list", "members", "empty", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    missing = cli_run("list", "members", "nope", "--json")
    assert missing.exit_code == 2
    assert missing.stdout == ""


def test_add_remove_unsubscribe_rules(cli_run, sessions, write_csv) -> None:
    make_list(cli_run, write_csv)
    removed = cli_run("list", "remove", "news", "ann@x.com")
    assert "removed" in removed.stderr
    assert members_of(sessions, "news")["ann@x.com"]["state"] == "removed"
    assert "already removed" in cli_run("list", "remove", "news", "ann@x.com").stderr

    back = cli_run("list", "add", "news", "ann@x.com")
    assert "subscribed to list 'news' again" in back.stderr
    ann = members_of(sessions, "news")["ann@x.com"]
    assert (ann["state"], ann["reason"], ann["fields"]) == ("subscribed", None, {"name": "Ann"})

    assert cli_run("list", "unsubscribe", "news", "bob@x.com").exit_code == 0
    kept = cli_run("list", "add", "news", "bob@x.com", "--field", "name=Robert")
    assert kept.exit_code == 0
    assert "stays unsubscribed" in kept.stderr
    assert "--resubscribe" in kept.stderr
    bob = members_of(sessions, "news")["bob@x.com"]
    assert (bob["state"], bob["fields"]) == ("unsubscribed", {"name": "Robert"})

    # Removing an opted-out member never weakens the opt-out.
    assert "stays unsubscribed" in cli_run("list", "remove", "news", "bob@x.com").stderr
    assert members_of(sessions, "news")["bob@x.com"]["state"] == "unsubscribed"

    resub = cli_run("list", "add", "news", "bob@x.com", "--resubscribe")
    assert "again" in resub.stderr
    assert members_of(sessions, "news")["bob@x.com"]["state"] == "subscribed"

    unknown = cli_run("list", "unsubscribe", "news", "zed@x.com")
    assert unknown.exit_code == 2
    assert "not a member" in unknown.stderr
    assert cli_run("list", "remove", "nope", "zed@x.com").exit_code == 2


def test_ls_and_show(cli_run, app: AppContext, write_csv) -> None:
    make_list(cli_run, write_csv, "news")
    assert cli_run("list", "create", "vip").exit_code == 0
    assert cli_run("list", "unsubscribe", "news", "bob@x.com").exit_code == 0
    connect(app, "news")

    views = json.loads(cli_run("list", "ls", "--json").stdout)
    assert [v["name"] for v in views] == ["news", "vip"]
    news = views[0]
    assert news["members"] == {"subscribed": 3, "unsubscribed": 1, "removed": 0, "total": 4, "left_query": 0}
    assert news["address_book"]["name"] == "Newsletter"
    assert news["address_book"]["integration"] == "acct"
    assert views[1]["address_book"] is None
    assert views[1]["members"]["total"] == 0

    table = cli_run("list", "ls")
    assert table.exit_code == 0
    assert "news" in table.stdout
    assert "Newsletter" in table.stdout

    show = json.loads(cli_run("list", "show", "news", "--json").stdout)
    assert show["kind"] == "static"
    assert show["email_column"] == "email"
    assert show["fields"] == ["name"]
    assert show["source"] is None
    plain = cli_run("list", "show", "news")
    assert "Newsletter (acct)" in plain.stdout
    assert cli_run("list", "show", "nope").exit_code == 2


def test_delete_refused_while_connected(cli_run, app: AppContext, sessions, write_csv) -> None:
    make_list(cli_run, write_csv)
    connect(app, "news")

    refused = cli_run("list", "delete", "news")
    assert refused.exit_code == 2
    assert "connected to address book 'Newsletter'" in refused.stderr
    assert list_names(sessions) == ["news"]

    forced = cli_run("list", "delete", "news", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert list_names(sessions) == []
    with sessions() as session:
        book = session.scalar(select(AddressBook))
        assert book is not None
        assert book.marketing_list_id is None
        assert session.scalar(select(func.count()).select_from(ListMember)) == 0


def test_delete_unconnected_list(cli_run, sessions, write_csv) -> None:
    make_list(cli_run, write_csv)
    result = cli_run("list", "delete", "news")
    assert result.exit_code == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(MarketingList)) == 0
        assert session.scalar(select(func.count()).select_from(ListMember)) == 0
    assert cli_run("list", "delete", "news").exit_code == 2


def test_every_list_command_has_help(cli_run) -> None:
    for command in ("create", "import", "add", "remove", "unsubscribe", "ls", "show", "members", "delete"):
        result = cli_run("list", command, "--help")
        assert result.exit_code == 0
        assert "Usage: dotsync list " + command in result.stdout
