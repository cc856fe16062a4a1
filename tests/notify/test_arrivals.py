"""Arrivals: finished calls handed to the waiting thread a group at a time."""
import threading
import time

from notify.arrivals import Arrivals


def test_what_has_already_arrived_is_handed_over_without_waiting():
    arrivals = Arrivals()
    for item in range(3):
        arrivals.put(item)
    assert arrivals.take(2, timeout=60) == [0, 1, 2]
    assert arrivals.take(0, timeout=60) == []


def test_the_waiting_thread_gets_the_whole_group_it_asked_for():
    arrivals = Arrivals()

    def producer():  # one at a time, as calls finish
        for item in range(5):
            time.sleep(0.01)
            arrivals.put(item)

    thread = threading.Thread(target=producer)
    thread.start()
    taken = arrivals.take(5, timeout=60)  # not woken by the first arrivals
    thread.join()
    assert taken == [0, 1, 2, 3, 4]


def test_a_group_that_does_not_fill_up_is_handed_over_as_it_is_when_time_is_up():
    arrivals = Arrivals()
    arrivals.put("a")
    arrivals.put("b")
    assert arrivals.take(3, timeout=0.05) == ["a", "b"]
    assert arrivals.take(1, timeout=0.01) == []


def test_items_put_after_a_take_wait_for_the_next_one():
    arrivals = Arrivals()
    arrivals.put(1)
    assert arrivals.take(1, timeout=60) == [1]
    arrivals.put(2)
    arrivals.put(3)
    assert arrivals.take(2, timeout=60) == [2, 3]
