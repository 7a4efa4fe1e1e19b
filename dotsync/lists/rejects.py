"""Rows left out of a list (invalid email, duplicate, malformed row): counted, sampled, optionally written.

With a rejects file the rows go to a CSV (``line``, ``reason``, then the row's original columns) so a user can
fix and re-import them; without one only the counts and the first few reasons are kept.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from dotsync.errors import BadInputError

SAMPLE_SIZE = 10

INVALID = "invalid"
DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Reject:
    """One row left out: where it was (file line or query row number), why, and what kind of problem."""

    line: int
    reason: str
    kind: str = INVALID


@dataclass
class RejectLog:
    """Counts rejected rows by kind, keeps the first :data:`SAMPLE_SIZE`, and writes them all to ``path``."""

    columns: Sequence[str] = ()
    path: Path | None = None
    invalid: int = 0
    duplicates: int = 0
    sample: list[Reject] = field(default_factory=list)
    _handle: IO[str] | None = field(default=None, repr=False)
    _writer: Any = field(default=None, repr=False)  # a csv writer (its type is private to the csv module)

    def __enter__(self) -> RejectLog:
        if self.path is not None:
            try:
                self._handle = open(self.path, "w", encoding="utf-8", newline="")
            except OSError as exc:
                raise BadInputError(
                    f"cannot write the rejects file {self.path}: {exc.strerror or exc}"
                ) from exc
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "reason", *self.columns])
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @property
    def total(self) -> int:
        return self.invalid + self.duplicates

    def add(self, line: int, reason: str, values: Sequence[object] = (), *, kind: str = INVALID) -> None:
        if kind == DUPLICATE:
            self.duplicates += 1
        else:
            self.invalid += 1
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(Reject(line, reason, kind))
        if self._writer is not None:
            self._writer.writerow([line, reason, *("" if v is None else v for v in values)])
