"""Settings, the key file and secret encryption."""

from __future__ import annotations

import multiprocessing
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from dotsync.cli import run
from dotsync.config import load_settings
from dotsync.errors import EXIT_CONFIG, ConfigError
from dotsync.secret import SecretBox, load_or_create_key


def test_key_file_created_with_mode_0600(tmp_path: Path) -> None:
    key_file = tmp_path / "home" / "secret.key"
    key = load_or_create_key(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_key(key_file) == key  # stable across calls


def test_key_file_is_never_visible_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "secret.key"
    seen_at_fsync: list[bool] = []
    real_fsync = os.fsync

    def watching_fsync(fd: int) -> None:
        seen_at_fsync.append(key_file.exists())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    key = load_or_create_key(key_file)
    assert seen_at_fsync[0] is False  # the key was written and fsynced before its name appeared
    assert key_file.read_bytes() == key + b"\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]  # no temporary file left


def test_key_created_meanwhile_by_another_process_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "secret.key"
    theirs = Fernet.generate_key()
    real_generate = Fernet.generate_key

    def generate_after_the_other_process_won() -> bytes:
        key_file.write_bytes(theirs + b"\n")  # the other process links its key between our check and our link
        return real_generate()

    monkeypatch.setattr(Fernet, "generate_key", staticmethod(generate_after_the_other_process_won))
    assert load_or_create_key(key_file) == theirs
    assert key_file.read_bytes() == theirs + b"\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]


def _race_for_key(args: tuple[str, Any]) -> bytes:
    key_file, barrier = args
    barrier.wait()
    return load_or_create_key(Path(key_file))


def test_processes_racing_for_the_key_end_with_the_same_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(4)
        with context.Pool(4) as pool:
            keys = pool.map(_race_for_key, [(str(key_file), barrier)] * 4)
    assert len(set(keys)) == 1
    assert key_file.read_bytes().strip() == keys[0]


def test_configured_key_wins(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    assert load_or_create_key(tmp_path / "k", key.decode()) == key
    assert not (tmp_path / "k").exists()


def test_secret_box_round_trip_and_wrong_key() -> None:
    box = SecretBox(Fernet.generate_key())
    token = box.encrypt("s3cret-password")
    assert "s3cret" not in token
    assert box.decrypt(token) == "s3cret-password"
    with pytest.raises(ConfigError, match="cannot decrypt"):
        SecretBox(Fernet.generate_key()).decrypt(token)


def test_invalid_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a valid Fernet key"):
        SecretBox(b"short")


def test_settings_env_then_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.toml").write_text('database_url = "sqlite:///from-file.db"\napi_safety_margin = 7\n')
    monkeypatch.setenv("DOTSYNC_HOME", str(home))
    settings = load_settings()
    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.api_safety_margin == 7
    monkeypatch.setenv("DOTSYNC_DATABASE_URL", "sqlite:///from-env.db")
    assert load_settings().database_url == "sqlite:///from-env.db"
    assert load_settings(database_url="sqlite:///arg.db").database_url == "sqlite:///arg.db"


def test_default_database_is_sqlite_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOTSYNC_DATABASE_URL", raising=False)
    monkeypatch.setenv("DOTSYNC_HOME", str(tmp_path))
    assert load_settings().effective_database_url == f"sqlite:///{tmp_path / 'dotsync.db'}"


def test_bad_config_file_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text("this is = = not toml")
    monkeypatch.setenv("DOTSYNC_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings()


def test_unknown_key_in_config_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('api_safety_margin = 7\ndatabse_url = "sqlite:///typo.db"\n[dotsync]\nhome = "/x"\n')
    monkeypatch.setenv("DOTSYNC_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("DOTSYNC_CONFIG", str(config))
    with pytest.raises(
        ConfigError, match=re.escape(f"unknown setting 'databse_url', 'dotsync' in config file {config} ")
    ):
        load_settings()


def test_config_file_keys_follow_setting_names_but_not_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOTSYNC_CONFIG", raising=False)
    monkeypatch.delenv("DOTSYNC_API_SAFETY_MARGIN", raising=False)
    monkeypatch.setenv("DOTSYNC_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text("API_SAFETY_MARGIN = 9\n")
    assert load_settings().api_safety_margin == 9  # case-insensitive, like the environment
    # The file's own path comes from the environment; saying it inside the file would be ignored, so it is refused.
    (tmp_path / "config.toml").write_text('config = "/etc/other.toml"\n')
    with pytest.raises(ConfigError, match=r"unknown setting 'config' in config file .*\$DOTSYNC_CONFIG"):
        load_settings()


def test_environment_overrides_every_setting_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOTSYNC_CONFIG", raising=False)
    monkeypatch.setenv("DOTSYNC_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text(
        "api_safety_margin = 7\nalert_max_age = 12\nrun_retention_days = 5\n"
    )
    monkeypatch.setenv("DOTSYNC_API_SAFETY_MARGIN", "70")
    monkeypatch.delenv("DOTSYNC_ALERT_MAX_AGE", raising=False)
    monkeypatch.delenv("DOTSYNC_RUN_RETENTION_DAYS", raising=False)
    settings = load_settings()
    assert (settings.api_safety_margin, settings.alert_max_age, settings.run_retention_days) == (70, 12, 5)


def test_config_file_that_is_not_utf8_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOTSYNC_CONFIG", raising=False)
    monkeypatch.setenv("DOTSYNC_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_bytes(b'alert_webhook = "\xff"\n')
    with pytest.raises(ConfigError, match=re.escape(f"cannot read config file {tmp_path / 'config.toml'}")):
        load_settings()


def test_unknown_config_key_exits_3_through_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("api_safty_margin = 7\n")
    runner = CliRunner()
    env = {"DOTSYNC_HOME": str(tmp_path), "DOTSYNC_CONFIG": None, "DOTSYNC_DATABASE_URL": None}
    with runner.isolation(env=env) as (out, err, _mixed):
        code = run(["db", "status"])
    assert code == EXIT_CONFIG
    assert out.getvalue() == b""
    assert f"Error: unknown setting 'api_safty_margin' in config file {config} " in err.getvalue().decode()
    assert not (tmp_path / "dotsync.db").exists()  # stopped before any command ran
