"""What every command body shared, written once: ``@body`` and the :class:`Call` it hands the body.

STYLE.md: a command body is one call — parse, one service call, render. planet-client-python's ``command()``
and dbt's ``requires`` wrap that scaffolding once; here ``@body`` (the decorator nearest the function, under
click's own) gets the :class:`~dotsync.cli.context.AppContext`, adds ``--json`` to a command that has a JSON
form, and hands the body a :class:`Call`, which runs the service (in one transaction when it takes a session,
inside the progress display when the command reports progress) and shows the result:

    @books.command("list")
    @integration_option
    @body(json=True)
    def list_(call: Call, integration_name: str | None) -> None:
        \"""List address books.\"""
        views = call.transaction(svc.list_books, integration_name)
        call.show(views, _print_books)  # JSON with --json (views as their fields), else the table

Nothing else: exit codes stay with the one translator (``dotsync.cli.run``), to which every exception goes up
unchanged. A result is shown once its transaction has committed, so a command never reports a change that was
rolled back, and after the progress display has closed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

import click

from dotsync.cli.options import json_option
from dotsync.console import ProgressReporter, info, print_json, progress_enabled
from dotsync.progress import Progress, no_progress

if TYPE_CHECKING:
    from dotsync.cli.context import AppContext, Service

P = ParamSpec("P")
V = TypeVar("V")


@dataclass
class Call:
    """One run of a command: the app's collaborators, and the ways to run its service and show its result."""

    app: AppContext
    as_json: bool = False
    reporter: ProgressReporter | None = None  # a command declared with @body(progress=True)

    @property
    def progress(self) -> Progress:
        """What the service reports its progress to: the display (a bar on a terminal), or nothing."""
        return self.reporter if self.reporter is not None else no_progress

    def run(self, service: Callable[P, V], /, *args: P.args, **kwargs: P.kwargs) -> V:
        """``service(...)``, for a service that opens its own transactions (the sync runs)."""
        with self._displaying():
            return service(*args, **kwargs)

    def transaction(self, service: Service[P, V], /, *args: P.args, **kwargs: P.kwargs) -> V:
        """``service(session, ...)`` in one transaction: committed when it returns, rolled back if it raises."""
        with self._displaying(), self.app.sessions().begin() as session:
            return service(session, *args, **kwargs)

    def list_change(
        self,
        list_name: str,
        kind: str,
        locked: bool,
        wait: float,
        service: Service[P, V],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> V:
        """Like :meth:`transaction`, for a change a running sync must not see half done: with ``locked``, the
        transaction holds the run lock of the list's integration, waiting up to ``wait`` seconds for a sync
        to finish (``kind`` names the change in the lock holder's line)."""
        from dotsync.services.locking import LockWait, list_change  # here: only these commands take a lock

        patience = LockWait(seconds=wait, sleep=self.app.sleep or time.sleep, notify=info)
        sessions = self.app.sessions()
        with (
            self._displaying(),
            list_change(sessions, list_name, kind=kind, locked=locked, wait=patience) as session,
        ):
            return service(session, *args, **kwargs)

    def show(self, view: V, text: Callable[[V], object] | None = None) -> None:
        """The result: as JSON on stdout with ``--json`` (views as their fields), else ``text(view)`` (None: the
        command prints nothing else on stdout; its messages on stderr it prints either way)."""
        if self.as_json:
            print_json(view)
        elif text is not None:
            text(view)

    def _displaying(self) -> AbstractContextManager[object]:
        return self.reporter.running() if self.reporter is not None else nullcontext()


def body(
    *, json: bool = False, progress: bool = False
) -> Callable[[Callable[Concatenate[Call, P], None]], Callable[P, None]]:
    """Make ``f(call, **options)`` a click callback (see the module docstring). ``json``: add ``--json``, which
    :meth:`Call.show` obeys; ``progress``: the services the body runs through its :class:`Call` run inside the
    progress display, and ``call.progress`` reports to it."""

    def decorate(f: Callable[Concatenate[Call, P], None]) -> Callable[P, None]:
        @functools.wraps(f)
        def callback(*args: P.args, **kwargs: P.kwargs) -> None:
            app: AppContext = click.get_current_context().obj
            as_json = bool(kwargs.pop("as_json", False))
            reporter = ProgressReporter(progress_enabled(app.verbosity)) if progress else None
            f(Call(app, as_json, reporter), *args, **kwargs)

        return json_option(callback) if json else callback

    return decorate


__all__ = ["Call", "body"]
