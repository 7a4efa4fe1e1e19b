"""`integration create` and `integration check` against the sandbox: credentials checked, endpoint stored."""

from __future__ import annotations

import json

from dotsync.sandbox import Sandbox


def _app_with_sandbox(app):
    sandbox = Sandbox(seed=1, sleep=lambda _s: None)
    sandbox.add_account("apiuser-c@apiconnector.com", "right-password", name="Checked")
    app.transport = sandbox.transport()
    return sandbox


def test_bad_credentials_are_exit_3_and_nothing_is_stored(app, cli_run) -> None:
    _app_with_sandbox(app)
    result = cli_run(
        "integration",
        "create",
        "--name",
        "c",
        "--username",
        "apiuser-c@apiconnector.com",
        "--password-stdin",
        input="wrong-password\n",
    )
    assert result.exit_code == 3
    assert "Authorization has been denied" in result.stderr
    assert "wrong-password" not in result.stderr
    assert json.loads(cli_run("integration", "list", "--json").stdout) == []


def test_check_reports_account_and_endpoint(app, cli_run) -> None:
    _app_with_sandbox(app)
    created = cli_run(
        "integration",
        "create",
        "--name",
        "c",
        "--username",
        "apiuser-c@apiconnector.com",
        "--password-stdin",
        input="right-password\n",
    )
    assert created.exit_code == 0, created.stderr
    checked = json.loads(cli_run("integration", "check", "c", "--json").stdout)
    assert checked["account"] == "Checked"
    assert checked["api_endpoint"] == "https://r1-api.dotdigital.com"
    assert isinstance(checked["calls_remaining"], int)
    shown = json.loads(cli_run("integration", "show", "c", "--json").stdout)
    assert shown["api_endpoint"] == "https://r1-api.dotdigital.com"
