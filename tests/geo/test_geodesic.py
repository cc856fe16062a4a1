"""Geodesic distances of a large set, computed in chunks side by side (geo.zones.geodesic_m)."""
import multiprocessing

import numpy as np

from geo.zones import GEOD, geodesic_m

PARIS = (2.3522, 48.8566)


def points(n, seed=7):
    rng = np.random.default_rng(seed)
    return rng.uniform(-180, 180, n), rng.uniform(-89.9, 89.9, n)


def test_a_large_set_gets_the_same_distances_as_one_pyproj_call_in_the_same_order():
    lons, lats = points(65_001)
    _, _, expected = GEOD.inv(np.full(lons.size, PARIS[0]), np.full(lons.size, PARIS[1]), lons, lats)

    assert np.array_equal(geodesic_m(*PARIS, lons, lats), np.asarray(expected))


def test_a_small_set_and_an_empty_one_are_answered_too():
    lons, lats = points(3)
    _, _, expected = GEOD.inv(np.full(3, PARIS[0]), np.full(3, PARIS[1]), lons, lats)

    assert np.array_equal(geodesic_m(*PARIS, lons, lats), np.asarray(expected))
    assert geodesic_m(*PARIS, np.zeros(0), np.zeros(0)).size == 0


def _in_child(queue):
    lons, lats = points(50_000)
    queue.put(float(geodesic_m(*PARIS, lons, lats).sum()))


def test_a_forked_child_computes_a_large_set_after_its_parent_did():
    """An RQ job is a forked child of the worker: it must not wait on its parent's threads."""
    lons, lats = points(50_000)
    in_parent = float(geodesic_m(*PARIS, lons, lats).sum())  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    try:
        assert queue.get(timeout=60) == in_parent
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
