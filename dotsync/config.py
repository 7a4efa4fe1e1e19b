"""Settings: ``DOTSYNC_*`` environment variables, then an optional TOML config file, then defaults.

Only the CLI builds a :class:`Settings` (it is the one place that reads the environment); everything below
receives the values it needs as arguments.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dotsync.errors import ConfigError

DEFAULT_HOME = Path("~/.local/share/dotsync")
CONFIG_FILE_NAME = "config.toml"


class _ConfigFile(TomlConfigSettingsSource):
    """The TOML config file (``$DOTSYNC_CONFIG`` or ``$DOTSYNC_HOME/config.toml``), read by pydantic-settings when
    it exists. A file that cannot be read, or a key that is not a setting, is a :class:`ConfigError` naming the
    file: a misspelt key silently ignored would leave the default in force unnoticed."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        try:
            super().__init__(settings_cls, toml_file=path)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        # Keys match setting names without regard to case, as pydantic-settings does.
        allowed = {name for name in settings_cls.model_fields if name != "config"}
        unknown = [key for key in self.toml_data if key.lower() not in allowed]
        if unknown:
            raise ConfigError(
                f"unknown setting {', '.join(map(repr, unknown))} in config file {path}"
                f" (known: {', '.join(sorted(allowed))}; the file's own path is set by $DOTSYNC_CONFIG)"
            )


class Settings(BaseSettings):
    """dotsync's settings. Environment variables use the ``DOTSYNC_`` prefix (e.g. ``DOTSYNC_HOME``)."""

    model_config = SettingsConfigDict(env_prefix="DOTSYNC_", extra="ignore")

    home: Path = Field(
        default=DEFAULT_HOME,
        description="Directory for dotsync's own files: the SQLite database, the key file, exports.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of dotsync's database; default: a SQLite file dotsync.db in the home.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key encrypting stored secrets; default: a key file (mode 0600) in the home.",
    )
    config: Path | None = Field(
        default=None,
        description="Path of a TOML config file; default: config.toml in the home, if present.",
    )
    api_safety_margin: int = Field(
        default=50,
        description="Stop a sync early when fewer API calls than this remain in the account's hourly budget.",
    )
    rate_limit_max_wait: float = Field(
        default=240.0,
        ge=0,
        description="Longest a run waits in total for Dotmailer's rate limit (seconds; default: the 4-minute cron "
        "interval); a longer wait stops the run early (exit 0) and the next run resumes.",
    )
    run_retention_days: int = Field(
        default=90, description="Run history and finished export rows older than this are pruned."
    )
    alert_webhook: str | None = Field(
        default=None,
        description="URL that gets a JSON POST when a problem appears and when it clears (https, or http on "
        "loopback); unset: no alerts.",
    )
    alert_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds the alert posts of one run may take in total."
    )
    alert_max_age: int = Field(
        default=30,
        gt=0,
        description="Minutes without a successful import or export before alerts call it a problem.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, environment, config file, defaults.
        env_values = env_settings()
        home = Path(env_values.get("home") or DEFAULT_HOME).expanduser()
        config_path = env_values.get("config")
        path = Path(config_path).expanduser() if config_path else home / CONFIG_FILE_NAME
        return (init_settings, env_settings, _ConfigFile(settings_cls, path))

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_dir / 'dotsync.db'}"

    @property
    def key_file(self) -> Path:
        return self.home_dir / "secret.key"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment and config file; ``overrides`` win (e.g. ``--database-url``)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from exc
