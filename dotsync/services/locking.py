"""Changes that must not happen under a running sync take the integration's run lock (SPEC §6.3).

``connection update --resync``, ``disconnect`` and ``list delete --force`` change a connection a cron run may be
exporting at that moment. They take the lock of the list's integration for their one transaction, waiting a
bounded time for a running sync to finish: the caller is told once that it waits, and if the lock is still
taken at the end a :class:`~dotsync.errors.LockedError` (exit 75) says so and nothing is changed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import AddressBook, Integration, MarketingList
from dotsync.errors import LockedError
from dotsync.sync.lock import integration_lock

DEFAULT_LOCK_WAIT = 60.0  # seconds
LOCK_POLL = 2.0  # seconds between tries


def _quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class LockWait:
    """How long to wait for a running sync, how to wait, and where to say that we wait."""

    seconds: float = DEFAULT_LOCK_WAIT
    poll: float = LOCK_POLL
    sleep: Callable[[float], None] = time.sleep
    notify: Callable[[str], None] = _quiet

    @property
    def retries(self) -> int:
        """Tries after the first one (counted, not timed, so a stopped or fake clock still ends the wait)."""
        if self.seconds <= 0:
            return 0
        return max(1, math.ceil(self.seconds / self.poll))


@contextmanager
def integration_held(
    engine: Engine, integration_id: int, name: str, kind: str, wait: LockWait
) -> Iterator[None]:
    """Hold the integration's run lock for the block, waiting up to ``wait.seconds`` for a running sync."""
    with ExitStack() as stack:
        for attempt in range(wait.retries + 1):
            try:
                stack.enter_context(integration_lock(engine, integration_id, name, kind))
                break
            except LockedError as exc:
                holder = exc.holder or "locked by another dotsync run"
                if attempt >= wait.retries:
                    waited = f"; waited {wait.seconds:g} s" if wait.retries else ""
                    raise LockedError(
                        f"integration {name!r} is busy: {holder}{waited}; nothing was changed, try again when "
                        "the sync has finished",
                        holder=exc.holder,
                    ) from None
                if attempt == 0:
                    wait.notify(
                        f"waiting for the running sync of integration {name!r} ({holder}), "
                        f"up to {wait.seconds:g} s…"
                    )
                wait.sleep(wait.poll)
        yield


def _integration_of_list(session: Session, list_name: str) -> tuple[int, str] | None:
    row = session.execute(
        select(Integration.id, Integration.name)
        .join(AddressBook, AddressBook.integration_id == Integration.id)
        .join(MarketingList, MarketingList.id == AddressBook.marketing_list_id)
        .where(MarketingList.name == list_name)
    ).first()
    return (row[0], row[1]) if row else None


@contextmanager
def list_change(
    sessions: sessionmaker[Session], list_name: str, *, kind: str, locked: bool, wait: LockWait
) -> Iterator[Session]:
    """One transaction changing the list ``list_name``; with ``locked`` and the list connected, it runs under
    the run lock of the integration of the list's address book."""
    with sessions() as session:
        found = _integration_of_list(session, list_name) if locked else None
        bind = session.get_bind()
    if found is None:
        with sessions.begin() as session:
            yield session
        return
    engine = bind if isinstance(bind, Engine) else bind.engine
    with integration_held(engine, found[0], found[1], kind, wait), sessions.begin() as session:
        yield session
