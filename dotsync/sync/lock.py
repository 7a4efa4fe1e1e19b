"""The per-integration run lock shared by the import, the export and ``sync`` (SPEC §6.3).

PostgreSQL: a session-level advisory lock, held on a dedicated connection for the whole run, so every host
using the same database shares it, and it is released by the server when the process dies.
SQLite: an exclusive ``flock`` on a file beside the database, released by the kernel when the process dies.
Either way a stale lock cannot survive a killed process. Who holds the lock and since when is written to the
``lock_holder`` table (PostgreSQL) or into the lock file (SQLite) for the "locked" message.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.engine import make_url

from dotsync.db.bulk import upsert
from dotsync.db.models import LockHolder
from dotsync.db.types import utcnow
from dotsync.errors import LockedError

# First key of the two-int advisory lock: a constant naming dotsync, so other applications' locks never clash.
_ADVISORY_NAMESPACE = 0x0D07_5C


def holder_description(kind: str) -> str:
    return f"{kind} on {socket.gethostname()} pid {os.getpid()}"


def _lock_file(engine: Engine, integration_id: int) -> Path:
    database = make_url(str(engine.url)).database
    if database and database != ":memory:":
        base = Path(database).expanduser().resolve()
        return base.with_name(f"{base.name}.lock-{integration_id}")
    return Path(tempfile.gettempdir()) / f"dotsync-memory.lock-{integration_id}"


@contextmanager
def integration_lock(engine: Engine, integration_id: int, integration_name: str, kind: str) -> Iterator[None]:
    """Hold the integration's run lock for the block; raise :class:`LockedError` (exit 75) if it is taken."""
    holder = holder_description(kind)
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, integration_id, integration_name, holder):
            yield
    else:
        with _file_lock(engine, integration_id, integration_name, holder):
            yield


@contextmanager
def _advisory_lock(engine: Engine, integration_id: int, name: str, holder: str) -> Iterator[None]:
    conn = engine.connect()
    try:
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:ns, :id)"), {"ns": _ADVISORY_NAMESPACE, "id": integration_id}
        ).scalar_one()
        conn.commit()
        if not got:
            row = conn.execute(
                select(LockHolder.holder, LockHolder.acquired_at).where(
                    LockHolder.integration_id == integration_id
                )
            ).first()
            conn.commit()
            raise _locked(name, row[0] if row else None, row[1] if row else None)
        try:
            with engine.begin() as tx:
                upsert(
                    tx,
                    LockHolder.__table__,
                    [{"integration_id": integration_id, "holder": holder, "acquired_at": utcnow()}],
                    key=["integration_id"],
                )
            yield
        finally:
            with engine.begin() as tx:
                tx.execute(delete(LockHolder).where(LockHolder.integration_id == integration_id))
            conn.execute(
                text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": _ADVISORY_NAMESPACE, "id": integration_id}
            )
            conn.commit()
    finally:
        conn.close()


@contextmanager
def _file_lock(engine: Engine, integration_id: int, name: str, holder: str) -> Iterator[None]:
    path = _lock_file(engine, integration_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115  (held for the whole block)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            who, _, since = handle.read().strip().partition("|")
            raise _locked(name, who or None, datetime.fromisoformat(since) if since else None) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder}|{utcnow().isoformat()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _locked(name: str, holder: str | None, since: datetime | None) -> LockedError:
    who = holder or "another dotsync run"
    when = f" since {since:%Y-%m-%d %H:%M:%S} UTC" if since else ""
    return LockedError(f"integration {name!r} is busy: locked by {who}{when}; this run was skipped")


def is_lock_free(engine: Engine, integration_id: int) -> bool:
    """True when nobody holds the integration's run lock right now (taken and released at once to find out).

    Used to tell a run whose process died (its row still says ``running``, its lock is free) from a live one.
    """
    if engine.dialect.name == "postgresql":
        # Read pg_locks rather than try the lock: a run starting at this instant must not find it taken.
        with engine.connect() as conn:
            held = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :ns AND objid = :id AND objsubid = 2"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"ns": _ADVISORY_NAMESPACE, "id": integration_id},
            ).scalar_one()
            conn.commit()
            return not held
    if engine.dialect.name != "sqlite":
        return False  # unknown lock kind: never call a run killed on a guess
    path = _lock_file(engine, integration_id)
    if not path.exists():
        return True
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return True
