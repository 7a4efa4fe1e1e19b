"""The object every command receives: settings and lazily built collaborators (engine, secret box, clients)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dotsync.config import Settings
from dotsync.db.engine import ensure_schema, make_engine, make_sessionmaker
from dotsync.db.types import utcnow
from dotsync.secret import SecretBox, load_or_create_key

if TYPE_CHECKING:
    import httpx

    from dotsync.db.models import Integration
    from dotsync.dotmailer.client import DotmailerClient

P = ParamSpec("P")
V = TypeVar("V")
Service = Callable[Concatenate[Session, P], V]
"""A service function, as a command calls it: ``service(session, ...)`` (see :mod:`dotsync.cli.command`)."""


@dataclass
class AppContext:
    settings: Settings
    verbosity: int = 0
    # Tests and the demo hand in an in-process transport (the sandbox) and a fake sleep.
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None
    clock: Callable[[], datetime] = utcnow
    _engine: Engine | None = field(default=None, repr=False)
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)
    _box: SecretBox | None = field(default=None, repr=False)

    def engine(self, *, check_schema: bool = True) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.effective_database_url)
            if check_schema:
                ensure_schema(self._engine)
        return self._engine

    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = make_sessionmaker(self.engine())
        return self._sessions

    def box(self) -> SecretBox:
        if self._box is None:
            configured = self.settings.secret_key.get_secret_value() if self.settings.secret_key else None
            self._box = SecretBox(load_or_create_key(self.settings.key_file, configured))
        return self._box

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.transport is not None:
            kwargs["transport"] = self.transport
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        return kwargs

    def client_for(self, integration: Integration) -> DotmailerClient:
        """A connected API client for a stored integration (password decrypted only here)."""
        from dotsync.dotmailer.client import DotmailerClient

        resume = integration.rate_limited_until
        return DotmailerClient(
            integration.username,
            self.box().decrypt(integration.password_encrypted),
            integration.api_url,
            endpoint=integration.api_endpoint,
            # The app's clock, so a stored "no call before" and the client's waits share one time line.
            clock=lambda: self.clock().timestamp(),
            max_wait=self.settings.rate_limit_max_wait,
            blocked_until=resume.timestamp() if resume is not None else None,
            **self.client_kwargs(),
        )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
