"""A run whose process died shows as `killed` (issue 16, item 1): its lock is free, or a later run got it."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from dotsync.db.models import Run, RunOutcome
from dotsync.sync import runs
from dotsync.sync.lock import integration_lock, is_lock_free
from tests.support import START
from tests.support.rows import add_integration


def _killed(sessions: sessionmaker[Session], engine: Engine) -> set[int]:
    with sessions() as session:
        return runs.killed_run_ids(session, engine, session.scalars(select(Run)).all())


def test_lock_free_or_taken(engine: Engine, sessions: sessionmaker[Session]) -> None:
    integration_id = add_integration(sessions)
    assert is_lock_free(engine, integration_id)
    with integration_lock(engine, integration_id, "acme", "export"):
        assert not is_lock_free(engine, integration_id)
    assert is_lock_free(engine, integration_id)


def test_running_while_locked_killed_once_free(engine: Engine, sessions: sessionmaker[Session]) -> None:
    integration_id = add_integration(sessions)
    with integration_lock(engine, integration_id, "acme", "export"):
        run_id = runs.start_run(sessions, "export", integration_id, START)
        assert _killed(sessions, engine) == set()
    assert _killed(sessions, engine) == {run_id}
    # A finished run is never called killed.
    runs.finish_run(sessions, run_id, outcome=RunOutcome.SUCCESS, counts={}, api_calls=0)
    assert _killed(sessions, engine) == set()


def test_a_later_run_that_got_the_lock_means_the_earlier_one_died(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    integration_id = add_integration(sessions)
    dead = runs.start_run(sessions, "import", integration_id, START)  # its process died holding nothing
    skipped = runs.start_run(sessions, "export", integration_id, START)
    runs.finish_run(sessions, skipped, outcome=RunOutcome.SKIPPED, counts={}, api_calls=0)
    with integration_lock(engine, integration_id, "acme", "export"):
        # A skipped run proves nothing, but a run that started later and is running holds the lock now.
        live = runs.start_run(sessions, "export", integration_id, START)
        assert _killed(sessions, engine) == {dead}
    # Its lock released without the run finishing: it died too.
    assert _killed(sessions, engine) == {dead, live}
