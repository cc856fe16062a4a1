"""The recipient snapshot of an alert is taken from compact arrays (`recipient_groups`,
`affected_travellers`), not from rows: it must name exactly the travellers, zones,
precisions and order that the affected set shows the coordinator (`affected_by_zone`,
`find_affected`). Runs on SQLite (the stop index) and on PostgreSQL+PostGIS."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from emergency.services.zones import LoadedZone, affected_by_zone, recipient_groups
from geo.formats import countries_zone
from geo.zones import circle, parse_geojson
from registry.affected import affected_travellers, find_affected
from registry.seed import seed

TODAY = date(2025, 6, 1)
START, END = TODAY, TODAY + timedelta(days=7)
PARIS = (48.8566, 2.3522)
EUROPE = parse_geojson({"type": "Polygon", "coordinates": [[
    [-25, 34], [45, 34], [45, 72], [-25, 72], [-25, 34]]]})
ZONES = {
    "100 km circle": circle(*PARIS, 100),
    "800 km circle": circle(*PARIS, 800),
    "France": countries_zone(["FR"]),
    "Europe": EUROPE,
    "Fiji across 180": parse_geojson({"type": "Polygon", "coordinates": [[
        [170, -25], [190, -25], [190, -10], [170, -10], [170, -25]]]}),
}


@pytest.fixture
def registry(backend_session):
    seed(backend_session, 1500, rng_seed=7, today=TODAY)
    backend_session.commit()
    return backend_session


@pytest.mark.parametrize("name", sorted(ZONES))
def test_affected_travellers_names_whom_find_affected_names_in_the_same_order(registry, name):
    zone = ZONES[name]
    rows = find_affected(registry, zone, START, END)
    ids, located, km = affected_travellers(registry, zone, START, END)
    assert ids.tolist() == [r.traveller_id for r in rows]
    assert located.tolist() == [r.precision != "country" for r in rows]
    expected_km = [np.nan if r.distance_km is None else r.distance_km for r in rows]
    assert np.array_equal(km, np.array(expected_km, dtype=float), equal_nan=True)


def test_an_empty_zone_gives_empty_arrays(registry):
    ids, located, km = affected_travellers(registry, circle(-60.0, -140.0, 5), START, END)
    assert ids.size == located.size == km.size == 0


def _flatten(groups):
    return [(zone_id, located, tid) for zone_id, located, ids in groups for tid in ids.tolist()]


def _expected(rows):
    return [(r.zone_id, r.precision != "country", r.traveller_id) for r in rows]


def test_rings_assign_each_traveller_as_the_affected_set_does(registry):
    rings = [LoadedZone(11, 1, ZONES["100 km circle"]), LoadedZone(12, 2, ZONES["800 km circle"]),
             LoadedZone(13, 3, ZONES["Europe"])]
    got = _flatten(recipient_groups(registry, rings, START, END))
    assert got == _expected(affected_by_zone(registry, rings, START, END))
    assert len({tid for _z, _l, tid in got}) == len(got)  # each traveller once
    assert {located for _z, located, _t in got} == {True, False}  # both kinds were exercised


def test_located_evidence_in_a_milder_zone_beats_country_only_evidence_in_a_severe_one(registry):
    rings = [LoadedZone(21, 1, ZONES["France"]), LoadedZone(22, 2, ZONES["800 km circle"])]
    got = _flatten(recipient_groups(registry, rings, START, END))
    assert got == _expected(affected_by_zone(registry, rings, START, END))


def test_a_single_zone_without_an_id_keeps_the_affected_order(registry):
    only = [LoadedZone(None, 1, ZONES["Europe"])]
    got = _flatten(recipient_groups(registry, only, START, END))
    assert got == _expected(affected_by_zone(registry, only, START, END))
    assert got and all(zone_id is None for zone_id, _l, _t in got)
