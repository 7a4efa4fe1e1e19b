"""The command helper (dotsync/cli/command.py): one transaction per service call, the result shown only after it
committed, --json as a view's fields in order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dotsync.cli.command import Call, body
from dotsync.cli.context import AppContext
from dotsync.db.models import MarketingList
from dotsync.errors import BadInputError


@dataclass(frozen=True)
class Inner:
    when: datetime
    tags: list[str]


@dataclass(frozen=True)
class Outer:
    zeta: int
    alpha: Inner | None
    inner: list[Inner]


@dataclass(frozen=True)
class Renamed:
    field_name: str

    def as_dict(self) -> dict[str, Any]:
        return {"shown_as": self.field_name}


def _add_list(session: Session, name: str, *, fail: bool = False) -> str:
    session.add(MarketingList(name=name, kind="static", email_column="email", field_columns=[]))
    session.flush()
    if fail:
        raise BadInputError("refused after the write")
    return name


def _lists(app: AppContext) -> int:
    with app.sessions()() as session:
        return int(session.scalar(select(func.count()).select_from(MarketingList)) or 0)


def _invoke(command: click.Command, app: AppContext, *args: str) -> Any:
    return CliRunner().invoke(command, list(args), obj=app, catch_exceptions=False)


def test_json_is_a_views_fields_in_order_nested_views_too_and_as_dict_where_it_differs(
    app: AppContext,
) -> None:
    when = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    view = [Outer(zeta=1, alpha=None, inner=[Inner(when, ["a"])]), Renamed("x")]

    @click.command()
    @body(json=True)
    def show(call: Call) -> None:
        call.show(view, lambda _v: click.echo("text"))

    result = _invoke(show, app, "--json")
    assert result.output.startswith('[\n  {\n    "zeta": 1,\n    "alpha": null,')  # field order, not sorted
    assert json.loads(result.output) == [
        {"zeta": 1, "alpha": None, "inner": [{"when": "2026-03-02T09:30:00+00:00", "tags": ["a"]}]},
        {"shown_as": "x"},
    ]
    assert _invoke(show, app).output == "text\n"


def test_a_service_runs_in_one_transaction_and_its_result_is_shown_after_the_commit(app: AppContext) -> None:
    seen: list[int] = []

    @click.command()
    @click.argument("name")
    @click.option("--fail", is_flag=True)
    @body()
    def create(call: Call, name: str, fail: bool) -> None:
        created = call.transaction(_add_list, name, fail=fail)
        call.show(created, lambda _name: seen.append(_lists(call.app)))  # what another reader sees then

    assert _invoke(create, app, "news").exit_code == 0
    assert seen == [1]  # committed before it was shown
    with pytest.raises(BadInputError, match="refused after the write"):
        _invoke(create, app, "other", "--fail")
    assert seen == [1]  # nothing shown
    assert _lists(app) == 1  # and the write before the error rolled back


def test_json_is_an_option_only_where_asked_and_the_last_one(app: AppContext) -> None:
    @click.command()
    @click.option("--first")
    @body(json=True)
    def with_json(call: Call, first: str | None) -> None:
        click.echo(f"{call.as_json} {first}")

    @click.command()
    @body()
    def without(call: Call) -> None:
        click.echo(type(call.app).__name__)

    assert [p.name for p in with_json.params] == ["first", "as_json"]
    assert _invoke(with_json, app, "--first", "x", "--json").output == "True x\n"
    assert [p.name for p in without.params] == []
    assert _invoke(without, app).output == "AppContext\n"
    assert _invoke(without, app, "--json").exit_code == 2  # no such option
