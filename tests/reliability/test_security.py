"""SPEC §6.7: the password (and a query list's source URL) is stored encrypted, the key file is 0600, no
command takes a secret in argv, and neither the password nor the Basic-auth token ever appears in output,
logs (even `-vv`, with HTTP debug logs), run history or error messages."""

from __future__ import annotations

import base64
import sqlite3
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from dotsync.cli import cli, run
from dotsync.cli.context import AppContext
from dotsync.config import Settings
from dotsync.db.types import metadata
from dotsync.errors import ConfigError
from dotsync.secret import SecretBox
from tests.support import PASSWORD, USERNAME
from tests.support.world import World, finish, people

TOKEN = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
SOURCE_MARKER = "srcsecret-7f3a"


def _secrets_absent(text_: str, *, source: bool = True) -> None:
    assert PASSWORD not in text_
    assert TOKEN not in text_
    if source:
        assert SOURCE_MARKER not in text_


def _raw_dump(world: World) -> str:
    """Every value of every table, as text, read with plain SQL (no ORM, no decryption)."""
    parts = []
    with world.app.engine().connect() as conn:
        for table in metadata.sorted_tables:
            quoted = conn.dialect.identifier_preparer.quote_identifier(table.name)  # "" or `` (MySQL)
            for row in conn.execute(text(f"SELECT * FROM {quoted}")):
                parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts)


def _query_list(world: World, tmp_path: Path) -> None:
    source = tmp_path / f"{SOURCE_MARKER}.db"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE people (email TEXT)")
        db.executemany("INSERT INTO people VALUES (?)", [(p["email"],) for p in people(3)])
    db.close()
    world.run("list", "create", "q", "--query", "SELECT email FROM people", "--source", f"sqlite:///{source}")


def test_secrets_are_encrypted_at_rest(served: World, tmp_path: Path) -> None:
    _query_list(served, tmp_path)
    dump = _raw_dump(served)
    _secrets_absent(dump)
    with served.app.engine().connect() as conn:
        stored = conn.execute(text("SELECT password_encrypted FROM integration")).scalar_one()
        source = conn.execute(
            text("SELECT source_url_encrypted FROM marketing_list WHERE name = 'q'")
        ).scalar_one()
    box = served.app.box()
    assert box.decrypt(stored) == PASSWORD
    assert SOURCE_MARKER in box.decrypt(source)
    # A wrong key cannot read them.
    other = SecretBox(_fresh_key())
    with pytest.raises(ConfigError, match="secret key differs") as refused:
        other.decrypt(stored)
    assert PASSWORD not in str(refused.value)
    url = served.app.settings.database_url or ""
    if url.startswith("sqlite:///"):
        raw = Path(url.removeprefix("sqlite:///")).read_bytes()
        assert PASSWORD.encode() not in raw
        assert SOURCE_MARKER.encode() not in raw
    # What the CLI shows: masked source, never the password.
    shown = "".join(
        served.run(*args).stdout
        for args in (
            ("integration", "show", "acme", "--json"),
            ("integration", "list", "--json"),
            ("list", "show", "q", "--json"),
            ("list", "ls", "--json"),
        )
    )
    _secrets_absent(shown, source=False)  # the source's path is shown (masked URL); it holds no password
    # A source URL's password never shows, not even when the source cannot be reached.
    result = served.run(
        "list",
        "create",
        "q2",
        "--query",
        "SELECT 1",
        "--source",
        f"postgresql+psycopg://reader:{SOURCE_MARKER}@127.0.0.1:1/nowhere",
        expect=2,
    )
    _secrets_absent(result.stdout + result.stderr)
    assert "Traceback" not in result.stderr


def _fresh_key() -> bytes:
    from cryptography.fernet import Fernet

    return Fernet.generate_key()


def test_key_file_is_created_0600(tmp_path: Path, database_url: str) -> None:
    home = tmp_path / "keyhome"
    app = AppContext(settings=Settings(home=home, database_url=database_url), sleep=lambda _s: None)
    try:
        runner = CliRunner()
        with runner.isolation(input=PASSWORD + "\n"):
            code = run(
                [
                    "integration",
                    "create",
                    "--name",
                    "k",
                    "--username",
                    USERNAME,
                    "--password-stdin",
                    "--no-check",
                ],
                obj=app,
            )
        assert code == 0
    finally:
        app.close()
    key_file = home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert PASSWORD not in key_file.read_text()


def test_no_command_takes_a_secret_in_argv() -> None:
    def walk(command: click.Command, path: str):
        yield path, command
        if isinstance(command, click.Group):  # through click's API: commands are loaded lazily
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                yield from walk(command.get_command(ctx, name), f"{path} {name}")

    for path, command in walk(cli, "dotsync"):
        if path.startswith("dotsync sandbox"):
            continue  # the fake API's own test account, printed by design
        for param in command.params:
            names = [n.lstrip("-").lower() for n in getattr(param, "opts", [])]
            for name in names:
                if "password" in name or "secret" in name or "token" in name:
                    assert name == "password-stdin", (path, name)
                    assert getattr(param, "is_flag", False), (path, name)
        assert "--password " not in (command.help or ""), path


def test_no_secret_in_logs_output_or_history(served: World) -> None:
    world = served
    world.connect_list(people(4))
    outputs = []
    for args in (("-vv", "integration", "check", "acme"), ("-vv", "sync")):
        code, out, err = finish(world.spawn(*args))
        assert code == 0, (args, out, err)
        outputs.append(out + err)
    everything = "\n".join(outputs)
    assert "HTTP Request: GET" in everything
    assert "/v2/account-info" in everything
    _secrets_absent(everything)
    # Refused credentials: Dotmailer answers 401; the error message, logs and history carry no secret.
    with world.sandbox.lock:
        world.account.password = "changed-elsewhere-1"
    for args in (
        ("-vv", "integration", "check", "acme"),
        ("-vv", "dotmailer", "export"),
        ("integration", "sync"),
    ):
        code, out, err = finish(world.spawn(*args))
        assert code == 3, (args, out, err)
        assert "password" in (out + err).lower() or "401" in out + err
        _secrets_absent(out + err)
        if "-vv" not in args:
            assert "Traceback" not in out + err, err
            assert len(err.strip().splitlines()) == 1, err
    # In-process too, through every command that talks to Dotmailer, with the debug logs on.
    result = world.run("-vv", "integration", "check", "acme", expect=3)
    _secrets_absent(result.stdout + result.stderr)
    with world.sandbox.lock:
        world.account.password = PASSWORD
    for args in (
        ("-vv", "integration", "check", "acme"),
        ("-vv", "books", "list"),
        ("-vv", "datafields", "list"),
    ):
        result = world.run(*args)
        _secrets_absent(result.stdout + result.stderr)
    _secrets_absent("\n".join(str(r) for r in world.json("runs", "--limit", "100")))
    _secrets_absent(_raw_dump(world))
