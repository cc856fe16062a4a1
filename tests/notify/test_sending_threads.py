"""Sending threads: a process's long-lived threads making the calls of one batch at a time."""
from __future__ import annotations

import os
import threading

import pytest

from notify.sending_threads import SKIPPED, SendingThreads, sending_threads


def test_every_call_handed_over_is_made_once_and_its_outcome_comes_back():
    calls = SendingThreads(4, name="test-send").round(lambda item: item * 10)
    calls.send(range(20))
    outcomes = []
    while calls.out:
        outcomes.extend(calls.take(calls.out, timeout=60))
    assert sorted(outcomes) == [item * 10 for item in range(20)]


def test_calls_run_together_on_as_many_threads_as_asked():
    meet = threading.Barrier(4, timeout=10)  # broken (and the test fails) unless 4 calls overlap
    threads: set[int] = set()

    def call(item):
        threads.add(threading.get_ident())
        meet.wait()
        return item

    calls = SendingThreads(4, name="test-send").round(call)
    calls.send(range(8))
    outcomes = []
    while calls.out:
        outcomes.extend(calls.take(calls.out, timeout=60))
    assert sorted(outcomes) == list(range(8))
    assert len(threads) == 4
    assert not meet.broken


def test_after_a_cancel_calls_not_started_are_not_made_and_finish_waits_for_those_running():
    started = threading.Event()
    release = threading.Event()
    made: list[int] = []

    def call(item):
        made.append(item)
        started.set()
        release.wait(10)
        return item

    calls = SendingThreads(1, name="test-send").round(call)
    calls.send(range(5))
    assert started.wait(10)  # the first call is on the wire, the other four queued
    calls.cancel()
    release.set()
    calls.finish()
    assert made == [0]
    assert calls.out == 0


def test_what_a_call_raises_is_raised_in_the_sender_and_the_thread_keeps_working():
    def call(item):
        if item == 1:
            raise KeyError("boom")
        return item

    crew = SendingThreads(1, name="test-send")
    calls = crew.round(call)
    calls.send([0, 1])
    with pytest.raises(KeyError, match="boom"):
        while calls.out:
            calls.take(calls.out, timeout=60)
    calls.finish()
    again = crew.round(lambda item: item + 1)  # the same thread, still serving
    again.send([41])
    assert again.take(1, timeout=60) == [42]


def test_outcomes_of_skipped_calls_are_marked_and_rounds_do_not_mix():
    crew = SendingThreads(1, name="test-send")
    gate = threading.Event()
    first = crew.round(lambda item: gate.wait(10) and item)
    second = crew.round(lambda item: -item)
    first.send([1, 2])
    second.send([3])
    first.cancel()  # the second of its calls is skipped, whenever the thread reaches it
    gate.set()
    assert second.take(1, timeout=60) == [-3]
    outcomes = []
    while first.out:
        outcomes.extend(first.take(first.out, timeout=60))
    assert SKIPPED in outcomes and -3 not in outcomes


def test_a_process_keeps_its_threads_from_batch_to_batch_and_a_fork_starts_its_own():
    assert sending_threads(3) is sending_threads(3)
    assert sending_threads(3) is not sending_threads(2)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            calls = sending_threads(3).round(lambda item: item)  # the parent's threads are not here
            calls.send([7])
            ok = calls.take(1, timeout=10) == [7]
        except BaseException:
            ok = False
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(child, 0)
    assert answer == b"1"
