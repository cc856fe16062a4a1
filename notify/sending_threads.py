"""A process's long-lived sending threads, fed calls a slice at a time.

The SMS sender keeps several provider calls in flight (a call is mostly waiting on the
network). It used a ThreadPoolExecutor: a Future per call, with its own condition
variable, a work item, a semaphore check in `submit`, a done-callback and `result()`.
At provider speed that bookkeeping was a fifth of the sender thread's CPU
(bench/sms_sender_micro.py --prof), CPU the provider calls themselves need on a saturated
machine. Here a call is one tuple on a C-implemented queue, and its outcome goes straight
to the round's `Arrivals`, which wake the sender once per group.

The threads outlive a batch, so each keeps its provider client and open connection from
one batch to the next; they are per process, so a forked worker never waits on its
parent's (absent) threads.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from typing import Callable, Iterable

from .arrivals import Arrivals

log = logging.getLogger(__name__)


class _Raised:
    """A call raised in a sending thread (a call is expected to turn errors into results):
    the sender re-raises the exception, as `Future.result()` would."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Skipped:
    """The outcome of a call not made because its round was cancelled."""


SKIPPED = _Skipped()


class Round:
    """The calls of one batch: hand them over with `send`, collect outcomes with `take`.

    Used by one thread (the sender's); outcomes arrive from the sending threads."""

    def __init__(self, inbox: queue.SimpleQueue, call: Callable) -> None:
        self._inbox = inbox
        self._call = call
        self._arrivals = Arrivals()
        self.cancelled = False
        self.out = 0  # calls handed over whose outcome has not been taken yet

    def send(self, items: Iterable) -> None:
        """Hand `call(item)` for each item to the sending threads, in order."""
        for item in items:
            self._inbox.put((self, item))
            self.out += 1

    def take(self, wanted: int, timeout: float) -> list:
        """The outcomes that have arrived, once at least `wanted` have (or after `timeout`
        seconds: then possibly fewer). Raises what a call raised, if one did."""
        arrived = self._arrivals.take(wanted, timeout)
        self.out -= len(arrived)
        for outcome in arrived:
            if isinstance(outcome, _Raised):
                raise outcome.exc
        return arrived

    def cancel(self) -> None:
        """Calls not started yet are not made (their outcome is SKIPPED)."""
        self.cancelled = True

    def finish(self) -> None:
        """Wait until every call handed over has ended or been skipped; outcomes not taken
        yet are dropped."""
        while self.out:
            self.out -= len(self._arrivals.take(self.out, 1.0))

    def _run(self, item) -> None:
        """In a sending thread: make the call unless the round was cancelled."""
        if self.cancelled:
            outcome = SKIPPED
        else:
            try:
                outcome = self._call(item)
            except BaseException as exc:  # keep the thread, and tell the sender
                log.exception("a sending call raised")
                outcome = _Raised(exc)
        self._arrivals.put(outcome)


class SendingThreads:
    """`count` daemon threads taking (round, item) pairs from one queue."""

    def __init__(self, count: int, name: str = "sms-send") -> None:
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        for number in range(count):
            threading.Thread(target=self._serve, name=f"{name}-{number}", daemon=True).start()

    def round(self, call: Callable) -> Round:
        """A new round of calls to `call`, which should return its outcome, not raise."""
        return Round(self._inbox, call)

    def _serve(self) -> None:
        while True:
            current, item = self._inbox.get()
            current._run(item)


_CREWS: dict[int, SendingThreads] = {}
_CREWS_LOCK = threading.Lock()


def _forget_crews_in_child() -> None:
    """A forked child (an RQ job) has none of its parent's threads: it starts its own (as
    geo.zones does for its pool), with a fresh lock in case another thread held it."""
    global _CREWS_LOCK
    _CREWS.clear()
    _CREWS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_crews_in_child)


def sending_threads(count: int) -> SendingThreads:
    """This process's `count` sending threads, started on first use."""
    with _CREWS_LOCK:
        crew = _CREWS.get(count)
        if crew is None:
            crew = _CREWS[count] = SendingThreads(count)
        return crew
