"""Fields that every log record of a run carries (run id, integration, book), for machine-readable logs.

The orchestrator binds the run and the integration, the export binds each book; the JSON log formatter
(:mod:`dotsync.console`) adds the bound fields to every record. Plain context variables: no dependency.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("dotsync_log_fields", default=None)


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log record made inside the block (nested blocks add to the outer ones)."""
    token = _FIELDS.set({**(_FIELDS.get() or {}), **fields})
    try:
        yield
    finally:
        _FIELDS.reset(token)


def bound() -> dict[str, Any]:
    return dict(_FIELDS.get() or {})


def update(**fields: Any) -> None:
    """Add ``fields`` to the innermost :func:`bind` block (e.g. the run id, once the run row exists)."""
    current = _FIELDS.get()
    if current is None:
        _FIELDS.set(dict(fields))
    else:
        current.update(fields)
