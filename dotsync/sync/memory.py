"""Both directions: how a bulk step treats the process's memory (a million rows at a time).

:func:`fewer_collections` raises the garbage collector's first threshold while a step makes and drops rows by
the hundred thousand: those rows form no reference cycles (refcounting frees them), yet every 700 new
containers the collector walked the young ones, about a tenth of a 100,000-member first export's CPU.
Objects alive when the step starts (modules, mappings, the engine) are left out of its full collections (frozen
for the step, unfrozen after it).

:func:`keep_big_buffers_mapped` has glibc give a sent file's memory back (see its docstring).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 100_000  # new containers between collections of the young generation during bulk work
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage rarely inside the block, and never walk what was alive before it (cycles made there are
    still collected, later); the collector is as it was after the block."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], BULK_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def collect_young() -> None:
    """Collect the young generations now, inside :func:`fewer_collections`: for a step that has just dropped a
    big object that a reference cycle may hold (a sent file, through its HTTP request), which the raised
    threshold would otherwise keep for several files (a 1,000,000-member export peaked at 185 MB instead of
    118 MB)."""
    gc.collect(1)


@functools.cache
def keep_big_buffers_mapped() -> None:
    """Have glibc give a sent file's memory back. glibc raises its mmap threshold to the size of the largest
    block freed (up to 32 MB): after the first 10 MB file, the next files' buffers come from the heap, which
    does not shrink, and a 1,000,000-member export peaked 14 MB higher than with a fixed 1 MB threshold, which
    keeps each big buffer in a mapping of its own, unmapped when freed. Only glibc has ``mallopt``; elsewhere
    (and if it refuses) nothing changes."""
    import ctypes  # here: only a run that uploads pays for the import

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 1 << 20)
