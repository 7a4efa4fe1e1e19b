"""`dotsync integration ...` and the foundation's CLI contract: exit codes, secrets, schema checks."""

from __future__ import annotations

import json
import logging

import click
from sqlalchemy import text

from dotsync.cli.context import AppContext

PASSWORD = "Sup3r-Secret-Pw!"


def _create(cli_run, name: str = "acme", *extra: str):
    return cli_run(
        "integration",
        "create",
        "--name",
        name,
        "--username",
        "apiuser-1@apiconnector.com",
        "--password-stdin",
        "--no-check",
        *extra,
        input=PASSWORD + "\n",
    )


def test_create_stores_password_encrypted(cli_run, engine) -> None:
    result = _create(cli_run)
    assert result.exit_code == 0, result.stderr
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT password_encrypted FROM integration")).scalar_one()
    assert PASSWORD not in raw
    assert raw.startswith("gAAAA")  # a Fernet token


def test_show_and_list_json_never_show_the_password(cli_run) -> None:
    assert _create(cli_run).exit_code == 0
    shown = cli_run("integration", "show", "acme", "--json")
    assert shown.exit_code == 0
    data = json.loads(shown.stdout)
    assert data["name"] == "acme"
    assert data["username"] == "apiuser-1@apiconnector.com"
    assert PASSWORD not in shown.stdout
    assert "password" not in shown.stdout.lower()
    listed = cli_run("integration", "list", "--json")
    assert [i["name"] for i in json.loads(listed.stdout)] == ["acme"]
    assert PASSWORD not in listed.stdout


def test_password_not_in_verbose_logs(cli_run, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        result = cli_run(
            "-v",
            "integration",
            "create",
            "--name",
            "x",
            "--username",
            "u",
            "--password-stdin",
            "--no-check",
            input=PASSWORD + "\n",
        )
    assert result.exit_code == 0
    assert PASSWORD not in result.stderr
    assert PASSWORD not in result.stdout
    assert PASSWORD not in caplog.text


def test_password_from_env(cli_run) -> None:
    result = cli_run(
        "integration",
        "create",
        "--name",
        "e",
        "--username",
        "u",
        "--no-check",
        env={"DOTSYNC_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.stderr


def test_missing_password_is_exit_2(cli_run) -> None:
    result = cli_run(
        "integration",
        "create",
        "--name",
        "n",
        "--username",
        "u",
        "--no-check",
        env={"DOTSYNC_PASSWORD": None},
    )
    assert result.exit_code == 2
    assert "no password given" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_password_option_in_argv(cli_run) -> None:
    result = cli_run("integration", "create", "--name", "n", "--username", "u", "--password", PASSWORD)
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_bad_api_url_is_exit_2(cli_run) -> None:
    for url in ("http://example.com", "ftp://x", "not a url", "http://10.0.0.1:8080"):
        result = _create(cli_run, "b", "--api-url", url)
        assert result.exit_code == 2, url
        assert "invalid --api-url" in result.stderr
    ok = _create(cli_run, "loop", "--api-url", "http://127.0.0.1:8080")
    assert ok.exit_code == 0, ok.stderr


def test_duplicate_name_and_unknown_name(cli_run) -> None:
    assert _create(cli_run).exit_code == 0
    again = _create(cli_run)
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    missing = cli_run("integration", "show", "nope")
    assert missing.exit_code == 2
    assert "no integration named 'nope'" in missing.stderr


def test_update_and_delete(cli_run) -> None:
    assert _create(cli_run).exit_code == 0
    result = cli_run("integration", "update", "acme", "--owner", "marketing", "--inactive", "--no-check")
    assert result.exit_code == 0, result.stderr
    data = json.loads(cli_run("integration", "show", "acme", "--json").stdout)
    assert data["owner"] == "marketing"
    assert data["active"] is False
    assert cli_run("integration", "delete", "acme", "--yes").exit_code == 0
    assert json.loads(cli_run("integration", "list", "--json").stdout) == []


def test_outdated_database_is_exit_3(cli_run, monkeypatch) -> None:
    # The database is at the current revision; pretend the code has moved on to a newer one.
    monkeypatch.setattr("dotsync.db.engine.head_revision", lambda engine: "9999_future")
    result = cli_run("integration", "list")
    assert result.exit_code == 3
    assert "run `dotsync db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr


def test_database_newer_than_code_is_exit_3(cli_run, engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    result = cli_run("integration", "list")
    assert result.exit_code == 3
    assert "newer than this dotsync" in result.stderr


def test_empty_database_migrated_on_first_use(tmp_path, secret_key) -> None:
    from dotsync.cli import run
    from dotsync.config import Settings

    app = AppContext(
        settings=Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/new.db", secret_key=secret_key)
    )
    assert run(["integration", "list", "--json"], obj=app) == 0
    app.close()


def test_every_command_has_help(cli_run) -> None:
    from dotsync.cli import cli

    def walk(group, path):  # through click's API: commands are loaded lazily
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            yield [*path, name], command
            if isinstance(command, click.Group):
                yield from walk(command, [*path, name])

    for path, command in walk(cli, []):
        assert command.help, f"dotsync {' '.join(path)} has no help"
        result = cli_run(*path, "--help")
        assert result.exit_code == 0, path
