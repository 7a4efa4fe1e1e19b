"""Commands are loaded lazily: ``dotsync --help`` imports click and none of the heavy machinery, yet lists every
registered command with its short help; each registration loads a documented command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dotsync.cli import COMMANDS, cli
from dotsync.cli.lazy import Lazy, LazyGroup

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "httpx", "pydantic", "pydantic_settings", "rich", "cryptography")
OURS = (
    "dotsync.sandbox",
    "dotsync.sync",
    "dotsync.services",
    "dotsync.db",
    "dotsync.dotmailer",
    "dotsync.lists",
)


def _modules_after(argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The modules a fresh interpreter holds after ``dotsync ARGV`` ran."""
    code = (
        "import json, sys\n"
        "from dotsync.cli import run\n"
        f"code = run({argv!r})\n"
        # None entries are imports blocked on purpose (dotsync/__init__.py's httpx._main), not loaded modules
        "print(json.dumps([code, sorted(n for n, m in sys.modules.items() if m is not None)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **(env or {})},
    )
    exit_code, modules = json.loads(done.stdout.splitlines()[-1])
    assert exit_code == 0, done.stderr
    return modules


def _loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_top_level_help_imports_nothing_heavy() -> None:
    modules = _modules_after(["--help"])
    assert _loaded(modules, HEAVY + OURS) == []
    assert [m for m in modules if m.startswith("dotsync.cli.") and m.endswith("_cmd")] == []


def test_a_group_help_loads_only_that_group() -> None:
    modules = _modules_after(["db", "--help"])
    assert "dotsync.cli.db_cmd" in modules
    assert (
        _loaded(modules, ("dotsync.sandbox", "dotsync.sync", "dotsync.cli.sync_cmd", "dotsync.cli.list_cmd"))
        == []
    )


def test_help_lists_every_registered_command_with_its_short_help(cli_run) -> None:
    result = cli_run("--help")
    assert result.exit_code == 0
    for entry in COMMANDS:
        if " " not in entry.name:
            assert f"{entry.name} " in result.stdout
            assert entry.short_help in result.stdout, entry.name


def test_every_registration_loads_a_documented_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for entry in COMMANDS:
        assert len(entry.short_help) <= 62, f"{entry.name}: short help wider than one --help line"
        group: click.Group = cli
        *parents, name = entry.name.split(" ")
        for parent in parents:
            sub = group.get_command(click.Context(group), parent)
            assert isinstance(sub, click.Group)
            group = sub
        command = group.get_command(click.Context(group), name)
        assert isinstance(command, click.Command), entry.name
        assert command.help, f"dotsync {entry.name} has no help"
        assert command.get_short_help_str(80) == entry.short_help  # listed alike before and after loading
        assert f"`{entry.name}" in readme or f"dotsync {entry.name}" in readme, f"{entry.name} not in README"


def test_a_sub_group_command_is_reachable(cli_run) -> None:
    result = cli_run("integration", "--help")
    assert result.exit_code == 0
    assert "sync" in result.stdout
    assert cli_run("integration", "sync", "--help").exit_code == 0


def test_an_unknown_command_suggests_a_close_name(cli_run) -> None:
    result = cli_run("lst")
    assert result.exit_code == 2
    assert "Did you mean 'list'" in result.stderr


def test_nested_lazy_commands_need_a_lazy_parent() -> None:
    group = LazyGroup(
        "top",
        lazy=[Lazy("db", "dotsync.cli.db_cmd:db", "db"), Lazy("db extra", "dotsync.cli.db_cmd:db", "x")],
    )
    with pytest.raises(TypeError, match="declare it with cls=LazyGroup"):
        group.get_command(click.Context(group), "db")


def test_a_command_module_that_cannot_be_imported_is_an_error_not_a_missing_command() -> None:
    # Registration never swallows ModuleNotFoundError: a broken install must not look like an unknown command.
    group = LazyGroup("top", lazy=[Lazy("gone", "dotsync.cli.no_such_module:gone", "gone")])
    with pytest.raises(ModuleNotFoundError, match=r"dotsync\.cli\.no_such_module"):
        group.get_command(click.Context(group), "gone")
    assert group.list_commands(click.Context(group)) == ["gone"]


def test_a_target_that_is_not_a_command_is_refused() -> None:
    group = LazyGroup("top", lazy=[Lazy("bad", "dotsync.cli:COMMANDS", "bad")])
    with pytest.raises(TypeError, match="is not a click command"):
        group.get_command(click.Context(group), "bad")


def test_a_command_on_a_current_schema_does_not_import_alembic(tmp_path: Path) -> None:
    env = {"DOTSYNC_HOME": str(tmp_path), "DOTSYNC_DATABASE_URL": f"sqlite:///{tmp_path}/d.db"}
    assert "alembic" in _modules_after(["db", "upgrade"], env)
    modules = _modules_after(["list", "ls", "--json"], env)
    assert "dotsync.db.engine" in modules
    assert _loaded(modules, ("alembic", "mako", "dotsync.sandbox", "httpx")) == []


def test_the_schema_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from dotsync.db.engine import _scripts_head, alembic_config, make_engine

    engine = make_engine("sqlite://")
    assert _scripts_head() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
