"""`integration create` and `integration check` against the sandbox: credentials checked, endpoint stored."""

from __future__ import annotations

import json

import pytest

from dotsync.sandbox import Account, Sandbox
from tests.support import PASSWORD, USERNAME
from tests.support.world import use_sandbox


@pytest.fixture
def checked_account(app, sandbox: Sandbox) -> Account:
    """An account named 'Checked' in the shared sandbox, and the app pointed at it."""
    use_sandbox(app, sandbox)
    return sandbox.add_account(USERNAME, PASSWORD, name="Checked")


def _create(cli_run, password: str):
    return cli_run(
        "integration",
        "create",
        "--name",
        "c",
        "--username",
        USERNAME,
        "--password-stdin",
        input=password + "\n",
    )


def test_bad_credentials_are_exit_3_and_nothing_is_stored(cli_run, checked_account: Account) -> None:
    result = _create(cli_run, "wrong-password")
    assert result.exit_code == 3
    assert "Authorization has been denied" in result.stderr
    assert "wrong-password" not in result.stderr
    assert json.loads(cli_run("integration", "list", "--json").stdout) == []


def test_check_reports_account_and_endpoint(cli_run, checked_account: Account) -> None:
    created = _create(cli_run, PASSWORD)
    assert created.exit_code == 0, created.stderr
    report = json.loads(cli_run("integration", "check", "c", "--json").stdout)
    assert report["account"] == "Checked"
    assert report["api_endpoint"] == "https://r1-api.dotdigital.com"
    assert isinstance(report["calls_remaining"], int)
    shown = json.loads(cli_run("integration", "show", "c", "--json").stdout)
    assert shown["api_endpoint"] == "https://r1-api.dotdigital.com"
