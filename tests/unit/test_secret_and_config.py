"""Settings, the key file and secret encryption."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from dotsync.config import load_settings
from dotsync.errors import ConfigError
from dotsync.secret import SecretBox, load_or_create_key


def test_key_file_created_with_mode_0600(tmp_path: Path) -> None:
    key_file = tmp_path / "home" / "secret.key"
    key = load_or_create_key(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_key(key_file) == key  # stable across calls


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
