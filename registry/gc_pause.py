"""Pause Python's cycle collector while a large answer is built.

Building 90k answer rows (driver tuples, then named tuples) allocates a few hundred
thousand container objects; each 700 allocations start a collection of the young objects
and, as they survive, older generations are scanned as well, over everything the process
holds. Measured on the continent-sized zone of bench/affected.py: `find_affected` took
0.84-1.0 s with the collector running and 0.59 s with it paused. Rows of ints, strings and
floats form no reference cycles, so pausing loses nothing; the collector runs again as
soon as the last caller leaves.

Process-wide (gc.disable is), so nested and concurrent callers share one count and the
collector is resumed only by the last one out, and only if it was running when the first
one came in.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_inside = 0
_was_enabled = False


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()
