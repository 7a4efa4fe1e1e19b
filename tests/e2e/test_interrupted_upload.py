"""A run that dies between an upload and its bookkeeping (issue 13's crash invariant): Dotmailer has the file,
dotsync has no book row for its new contacts. The upload intent written before the upload tells the contact
import, when it finds those contacts in the book, that dotsync added them, so a member removed afterwards is
still taken out of the book: the cycles converge. Found by the 40-trial kill test (a member removed right after
such a kill stayed in the book for good)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from dotsync.db.models import UploadIntent
from dotsync.dotmailer.client import DotmailerClient
from tests.support.world import World, emails, people


def _intents(w: World) -> int:
    with w.app.sessions()() as session:
        return int(session.scalar(select(func.count()).select_from(UploadIntent)) or 0)


def test_a_member_removed_after_an_unrecorded_upload_leaves_the_book(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.connect_list(people(5))
    real = DotmailerClient.start_contact_import

    def upload_then_die(self: DotmailerClient, *args: Any, **kwargs: Any) -> Any:
        real(self, *args, **kwargs)  # Dotmailer has the file ...
        raise KeyboardInterrupt  # ... and the run dies before recording it

    monkeypatch.setattr(DotmailerClient, "start_contact_import", upload_then_die)
    world.tick()
    world.run("dotmailer", "export", expect=None)  # aborted
    monkeypatch.undo()
    assert _intents(world) == 1  # written before the upload, never deleted
    world.sandbox.finish_imports()
    assert world.book_emails() == emails(people(5))

    world.run("list", "remove", "customers", "person2@example.com")
    wanted = emails(people(5)) - {"person2@example.com"}
    for _ in range(6):
        world.cycle()
        world.sandbox.finish_imports()
        if world.book_emails() == wanted:
            break
    assert world.book_emails() == wanted


def test_a_recorded_upload_leaves_no_intent(world: World) -> None:
    world.connect_list(people(5))
    world.cycle()
    assert _intents(world) == 0
