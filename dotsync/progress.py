"""Progress as the code below the CLI sees it: a plain callable, and the one that reports nothing.

The CLI passes :class:`dotsync.console.ProgressReporter` (a rich bar on a terminal, nothing under cron); list
loads and sync steps call whatever they were given. This module imports nothing from dotsync, so every layer
may use it.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """``progress(label, done, total)``: ``done`` items of ``label`` so far, of ``total`` (None when unknown)."""

    def __call__(self, label: str, done: int, total: int | None = None) -> None: ...


def no_progress(label: str, done: int, total: int | None = None) -> None:
    """Report nothing (the default wherever progress is optional)."""
    return None
