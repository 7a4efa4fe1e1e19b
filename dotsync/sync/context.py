"""The explicit context every sync step receives: sessions, API client, integration, the run's start time.

Time is a parameter: ``now`` is the run's start time, used for watermarks and for everything a step stamps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.types import utcnow
from dotsync.progress import Progress, no_progress

if TYPE_CHECKING:
    from dotsync.dotmailer.client import DotmailerClient
    from dotsync.secret import SecretBox

log = logging.getLogger("dotsync.sync")


@dataclass
class SyncContext:
    sessions: sessionmaker[Session]
    client: DotmailerClient
    integration_id: int
    integration_name: str
    now: datetime
    box: SecretBox | None = None
    clock: Callable[[], datetime] = utcnow
    progress: Progress = no_progress
    force: bool = False
    notes: list[str] = field(default_factory=list)
    # Answers shared by several steps of one run (e.g. campaigns/with-activity-since), so each is asked once.
    shared: dict[str, Any] = field(default_factory=dict)

    @property
    def calls_made(self) -> int:
        return int(self.client.calls_made)

    def server_now(self) -> datetime:
        """Dotmailer's clock (from the last answer's ``Date`` header), or the run's ``now`` before any answer
        carried one. Watermarks compared with Dotmailer's dates use this, so our clock's skew cannot matter."""
        return self.client.server_now() or self.now

    def note(self, message: str) -> None:
        """A user-facing remark about this run (shown in the summary and logged)."""
        log.warning(message)
        self.notes.append(message)


StepFunction = Callable[[SyncContext, Session], dict[str, int]]
