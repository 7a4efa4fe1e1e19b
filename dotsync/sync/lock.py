"""The per-integration run lock shared by the import, the export and ``sync`` (SPEC §6.3).

PostgreSQL: a session-level advisory lock; MySQL/MariaDB: a named lock (``GET_LOCK``), named after the
database and the integration (MySQL's lock names are server-wide). Either is held on a dedicated connection for
the whole run, so every host using the same database shares it, and it is released by the server when the
process (so its connection) dies. SQLite: an exclusive ``flock`` on a file beside the database, released by
the kernel when the process dies. Either way a stale lock cannot survive a killed process. Who holds the lock
and since when is written to the ``lock_holder`` table (server databases) or into the lock file (SQLite) for
the "locked" message.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, TextClause, delete, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from dotsync.db.bulk import upsert
from dotsync.db.models import LockHolder
from dotsync.db.types import is_mysql, utcnow
from dotsync.errors import LockedError

# First key of the two-int advisory lock: a constant naming dotsync, so other applications' locks never clash.
_ADVISORY_NAMESPACE = 0x0D07_5C
# MySQL refuses lock names longer than 64 characters.
_MYSQL_LOCK_NAME_MAX = 64


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
    if engine.dialect.name == "postgresql" or is_mysql(engine.dialect):
        with _advisory_lock(engine, integration_id, integration_name, holder):
            yield
    else:
        with _file_lock(engine, integration_id, integration_name, holder):
            yield


def _mysql_lock_name(conn: Connection, integration_id: int) -> str:
    database = str(conn.exec_driver_sql("SELECT DATABASE()").scalar_one() or "")
    name = f"dotsync:{database}:{integration_id}"
    if len(name) > _MYSQL_LOCK_NAME_MAX:
        digest = hashlib.sha256(database.encode("utf-8")).hexdigest()[:32]
        name = f"dotsync:{digest}:{integration_id}"
    return name


def _server_lock_sql(conn: Connection, integration_id: int) -> tuple[TextClause, TextClause, dict[str, Any]]:
    """(try-lock, unlock, parameters) for the server's session-level lock; try-lock never waits."""
    if is_mysql(conn.dialect):
        params: dict[str, Any] = {"name": _mysql_lock_name(conn, integration_id)}
        return text("SELECT GET_LOCK(:name, 0)"), text("SELECT RELEASE_LOCK(:name)"), params
    params = {"ns": _ADVISORY_NAMESPACE, "id": integration_id}
    return text("SELECT pg_try_advisory_lock(:ns, :id)"), text("SELECT pg_advisory_unlock(:ns, :id)"), params


@contextmanager
def _advisory_lock(engine: Engine, integration_id: int, name: str, holder: str) -> Iterator[None]:
    conn = engine.connect()
    try:
        try_lock, unlock, params = _server_lock_sql(conn, integration_id)
        got = conn.execute(try_lock, params).scalar_one()  # NULL (MySQL: an error) counts as not got
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
            try:
                conn.execute(unlock, params)
                conn.commit()
            except DBAPIError:
                # The lock's connection was lost (e.g. closed by the server's idle timeout during a very long
                # run): the server released the lock with it, so there is nothing left to release.
                conn.invalidate()
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
    return LockedError(
        f"integration {name!r} is busy: locked by {who}{when}; this run was skipped",
        holder=f"locked by {who}{when}",
    )


def is_lock_free(engine: Engine, integration_id: int) -> bool:
    """True when nobody holds the integration's run lock right now (taken and released at once to find out).

    Used to tell a run whose process died (its row still says ``running``, its lock is free) from a live one.
    """
    if is_mysql(engine.dialect):
        with engine.connect() as conn:
            free = conn.execute(
                text("SELECT IS_FREE_LOCK(:name)"), {"name": _mysql_lock_name(conn, integration_id)}
            ).scalar_one()
            conn.commit()
            return bool(free)
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
