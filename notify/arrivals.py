"""Finished calls handed to a waiting thread in groups, not one at a time.

The SMS sender keeps several provider calls in flight and its own thread records their
outcomes. Woken once per finished call (as a queue would wake it), that thread would take
the GIL from the sending threads fifty times per claimed slice: about a tenth of a worker's
CPU at provider speed (bench/fanout.py, the worker's main thread). So it sleeps until the
group it needs has arrived, or until its timeout, and takes everything that arrived at once.
"""
from __future__ import annotations

import threading


class Arrivals:
    """Items put by any thread; `take` waits for a number of them, then hands over all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived: list = []
        self._wanted = 0  # how many the waiting thread needs; 0 when no thread waits
        self._enough = threading.Event()

    def put(self, item) -> None:
        """Add one item (from a sending thread, notify.sending_threads); wakes the waiting
        thread only when its group is complete."""
        with self._lock:
            self._arrived.append(item)
            if self._wanted and len(self._arrived) >= self._wanted:
                self._wanted = 0
                self._enough.set()

    def take(self, wanted: int, timeout: float) -> list:
        """Every item arrived so far, once at least `wanted` have (or `timeout` seconds
        passed: then possibly fewer, possibly none)."""
        with self._lock:
            wait = len(self._arrived) < wanted
            if wait:
                self._wanted = wanted
                self._enough.clear()
        if wait:
            self._enough.wait(timeout)
        with self._lock:
            self._wanted = 0
            arrived, self._arrived = self._arrived, []
        return arrived
