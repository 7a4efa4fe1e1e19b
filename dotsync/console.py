"""Terminal output: logging setup (rich on a terminal, plain lines under cron), tables, JSON, progress.

Only this module and the CLI import rich. Results go to stdout; logs and progress go to stderr.

rich is imported when something is first printed, not when this module is (every command's start-up would pay
for it, and cron runs log plain lines): ``stdout`` and ``stderr`` are made on first use.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    stdout: Console
    stderr: Console


@cache
def _console(to_stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=to_stderr, soft_wrap=True)


# Width for results written to a file or a pipe: wide enough that no table is ever cut or wrapped.
UNLIMITED_WIDTH = 1_000_000


@cache
def _wide_console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True, width=UNLIMITED_WIDTH)


def _results_console() -> Console:
    """stdout for tables: as wide as the terminal on a terminal; in a file or a pipe (cron), unlimited."""
    console = _console(False)
    return console if console.is_terminal else _wide_console()


def __getattr__(name: str) -> Any:
    """``console.stdout`` / ``console.stderr``: the rich consoles, made on first use."""
    if name in ("stdout", "stderr"):
        return _console(name == "stderr")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the run's bound fields (run id, integration,
    book) plus any ``counts``/``api_calls``/``outcome`` passed as ``extra``. For journald, Loki, ELK."""

    EXTRA_FIELDS = ("counts", "api_calls", "outcome", "kind")

    def format(self, record: logging.LogRecord) -> str:
        from dotsync.logcontext import bound

        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(bound())
        for name in self.EXTRA_FIELDS:
            if name in record.__dict__:
                data[name] = record.__dict__[name]
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=_default, ensure_ascii=False)


def setup_logging(verbosity: int, log_format: str = "text") -> None:
    """verbosity: -1 quiet (errors only), 0 normal (warnings), 1 verbose (progress of each step), 2 debug.

    ``log_format="json"``: one JSON object per line on stderr; at normal verbosity it includes each step's
    record (info), since a log collector, unlike a person, wants every run's counts.
    """
    if log_format == "json" and verbosity == 0:
        verbosity = 1
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_dotsync", False):
            root.removeHandler(old)
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLogFormatter())
    elif sys.stderr.isatty():
        from rich.logging import RichHandler

        handler = RichHandler(console=_console(True), show_path=False, rich_tracebacks=verbosity > 0)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    setattr(handler, "_dotsync", True)  # noqa: B010  (marks our handler for replacement)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("dotsync").setLevel(level)
    # httpx logs every request URL at INFO; keep it for -vv only.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


def _default(value: Any) -> Any:
    """JSON for what ``json`` does not know: dates; a typed view as its ``as_dict()`` when it has one (its JSON
    differs from its fields), else as its fields in order (nested views are turned the same way)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_text(data: Any) -> str:
    """``data`` (views, lists of them, plain values) as one line of JSON, non-ASCII kept as it is."""
    return json.dumps(data, default=_default, ensure_ascii=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def print_table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, empty: str | None = None
) -> None:
    """A table on stdout; with no rows and an ``empty`` hint (what to run next), the hint instead."""
    if not rows and empty is not None:
        _console(False).print(empty, highlight=False, markup=False)
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(format_value(v) for v in row))
    _results_console().print(table)


def print_mapping(title: str | None, items: Sequence[tuple[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in items:
        table.add_row(key, format_value(value))
    _results_console().print(table)


def fields_of(view: Any) -> list[tuple[str, Any]]:
    """A typed view's fields as (name, value) pairs, in order: the rows of :func:`print_mapping`."""
    return [(f.name, getattr(view, f.name)) for f in dataclasses.fields(view)]


def info(message: str) -> None:
    """A human message on stderr (never mixed into stdout results)."""
    _console(True).print(message, highlight=False)


class ProgressReporter:
    """Progress for long work: a rich bar on a terminal, nothing under cron. Passed down as a plain callable."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=_console(True),
                transient=True,
            )

    def __call__(self, label: str, done: int, total: int | None = None) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(label)
        if task is None:
            task = self._tasks[label] = self._progress.add_task(label, total=total)
        self._progress.update(task, completed=done, total=total)

    @contextmanager
    def running(self) -> Iterator[ProgressReporter]:
        if self._progress is None:
            yield self
            return
        with self._progress:
            yield self


def progress_enabled(verbosity: int) -> bool:
    return sys.stderr.isatty() and verbosity >= 0
