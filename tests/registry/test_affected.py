"""Who is affected by an incident: the same answers on SQLite and on PostGIS."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.zones import circle, parse_geojson
from registry.affected import AffectedStop, _round_3, count_affected, external_ids, find_affected
from registry.models import Traveller
from tests.conftest import insert_traveller

UTC = timezone.utc
START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
END = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
DURING = (date(2025, 3, 8), date(2025, 3, 15))

OTTAWA = (45.4215, -75.6972)
MONTREAL = (45.5017, -73.5673)  # ~166 km from Ottawa
KINGSTON = (44.2312, -76.4860)  # ~145 km
TORONTO = (43.6532, -79.3832)  # ~352 km
SUVA = (-18.14, 178.44)
SYDNEY = (-33.87, 151.21)

OTTAWA_300 = circle(*OTTAWA, 300)
FIJI_JUMP = parse_geojson({
    "type": "Polygon",
    "coordinates": [[[177, -20], [-177, -20], [-177, -15], [177, -15], [177, -20]]],
})

_counter = iter(range(1, 10_000))


def add_traveller(session, *stops, external_id=None) -> Traveller:
    """A traveller with one trip; each stop is (precision, country, (lat, lon)|None, dates)."""
    n = next(_counter)
    return insert_traveller(session, *({"precision": precision, "country": country,
                                        "lat": point[0] if point else None, "lon": point[1] if point else None,
                                        "arrival": arrival, "departure": departure}
                                       for precision, country, point, (arrival, departure) in stops),
                            external_id=external_id or f"T{n}")


def ids(session, rows: list[AffectedStop]) -> list[str]:
    """The travellers' external references, in the answer's order."""
    references = external_ids(session, [r.traveller_id for r in rows])
    return [references[r.traveller_id] for r in rows]


def test_point_inside_geodesic_circle_is_affected_and_outside_is_not(backend_session):
    add_traveller(backend_session, ("point", "CA", MONTREAL, DURING), external_id="montreal")
    add_traveller(backend_session, ("point", "CA", TORONTO, DURING), external_id="toronto")

    rows = find_affected(backend_session, OTTAWA_300, START, END)

    assert ids(backend_session, rows) == ["montreal"]
    assert rows[0].precision == "point"
    assert rows[0].located_by == "point"
    assert rows[0].distance_km == pytest.approx(166, abs=3)


def test_city_stop_reports_point_precision_and_city_as_how_it_was_located(backend_session):
    add_traveller(backend_session, ("city", "CA", MONTREAL, DURING), external_id="city")

    [row] = find_affected(backend_session, OTTAWA_300, START, END)

    assert (row.precision, row.located_by, row.country) == ("point", "city", "CA")
    assert (row.lat, row.lon) == MONTREAL


def test_country_only_stop_is_affected_when_zone_touches_that_country(backend_session):
    add_traveller(backend_session, ("country", "CA", None, DURING), external_id="somewhere-in-canada")
    add_traveller(backend_session, ("country", "FR", None, DURING), external_id="somewhere-in-france")

    rows = find_affected(backend_session, OTTAWA_300, START, END)

    assert ids(backend_session, rows) == ["somewhere-in-canada"]
    assert rows[0].precision == "country"
    assert rows[0].located_by == "country"
    assert rows[0].distance_km is None


def test_stops_outside_the_time_window_are_not_affected(backend_session):
    add_traveller(backend_session, ("point", "CA", MONTREAL, (date(2025, 3, 1), date(2025, 3, 9))),
                  external_id="left-before")
    add_traveller(backend_session, ("point", "CA", MONTREAL, (date(2025, 3, 21), date(2025, 3, 30))),
                  external_id="arrives-after")
    add_traveller(backend_session, ("country", "CA", None, (date(2025, 2, 1), date(2025, 2, 5))),
                  external_id="country-before")

    assert find_affected(backend_session, OTTAWA_300, START, END) == []
    assert count_affected(backend_session, OTTAWA_300, START, END) == 0


def test_window_edges_are_inclusive_calendar_days(backend_session):
    add_traveller(backend_session, ("point", "CA", MONTREAL, (date(2025, 3, 1), date(2025, 3, 10))),
                  external_id="leaves-on-start-day")
    add_traveller(backend_session, ("point", "CA", KINGSTON, (date(2025, 3, 20), date(2025, 3, 25))),
                  external_id="arrives-on-end-day")

    assert sorted(ids(backend_session, find_affected(backend_session, OTTAWA_300, START, END))) == [
        "arrives-on-end-day", "leaves-on-start-day"]


def test_window_is_compared_in_utc(backend_session):
    add_traveller(backend_session, ("point", "CA", MONTREAL, (date(2025, 3, 1), date(2025, 3, 9))),
                  external_id="left-on-the-9th")
    # 22:00 in Ottawa on 9 March is already 10 March in UTC
    evening = datetime(2025, 3, 9, 22, 0, tzinfo=timezone(timedelta(hours=-5)))

    assert find_affected(backend_session, OTTAWA_300, evening, END) == []


def test_open_ended_departure_is_still_there(backend_session):
    add_traveller(backend_session, ("point", "CA", MONTREAL, (date(2024, 1, 1), None)), external_id="expat")

    assert ids(backend_session, find_affected(backend_session, OTTAWA_300, START, END)) == ["expat"]


def test_incident_without_end_includes_later_arrivals(backend_session):
    add_traveller(backend_session, ("point", "CA", MONTREAL, (date(2026, 1, 1), date(2026, 1, 9))),
                  external_id="next-year")

    assert ids(backend_session, find_affected(backend_session, OTTAWA_300, START, None)) == ["next-year"]
    assert find_affected(backend_session, OTTAWA_300, START, END) == []


def test_one_row_per_traveller_preferring_a_located_stop_over_the_country(backend_session):
    traveller = add_traveller(
        backend_session,
        ("country", "CA", None, DURING),
        ("point", "CA", MONTREAL, DURING),
        ("point", "CA", KINGSTON, DURING),
        external_id="three-stops",
    )

    rows = find_affected(backend_session, OTTAWA_300, START, END)

    assert len(rows) == 1
    assert rows[0].traveller_id == traveller.id
    assert rows[0].precision == "point"
    assert (rows[0].lat, rows[0].lon) == KINGSTON  # the closer of the two points
    assert count_affected(backend_session, OTTAWA_300, START, END) == 1


def test_rows_are_ordered_by_distance_with_country_only_last(backend_session):
    add_traveller(backend_session, ("country", "CA", None, DURING), external_id="country")
    add_traveller(backend_session, ("point", "CA", MONTREAL, DURING), external_id="far")
    add_traveller(backend_session, ("point", "CA", (45.43, -75.70), DURING), external_id="near")

    rows = find_affected(backend_session, OTTAWA_300, START, END)

    assert ids(backend_session, rows) == ["near", "far", "country"]
    assert count_affected(backend_session, OTTAWA_300, START, END) == 3


def test_zone_across_antimeridian_finds_fiji_on_both_sides_but_not_australia(backend_session):
    add_traveller(backend_session, ("point", "FJ", SUVA, DURING), external_id="suva")
    add_traveller(backend_session, ("point", "FJ", (-16.5, -179.9), DURING), external_id="east-of-180")
    add_traveller(backend_session, ("point", "AU", SYDNEY, DURING), external_id="sydney")
    add_traveller(backend_session, ("country", "FJ", None, DURING), external_id="fiji-somewhere")

    rows = find_affected(backend_session, FIJI_JUMP, START, END)

    assert sorted(ids(backend_session, rows)[:2]) == ["east-of-180", "suva"]
    assert ids(backend_session, rows)[2:] == ["fiji-somewhere"]


def test_circle_across_antimeridian_finds_points_on_both_sides(backend_session):
    add_traveller(backend_session, ("point", "FJ", SUVA, DURING), external_id="suva")
    add_traveller(backend_session, ("point", "FJ", (-17.0, -179.5), DURING), external_id="lau")
    add_traveller(backend_session, ("point", "AU", SYDNEY, DURING), external_id="sydney")

    zone = circle(-17.5, 179.9, 300)

    assert sorted(ids(backend_session, find_affected(backend_session, zone, START, END))) == ["lau", "suva"]


def test_high_latitude_circle_is_measured_on_the_ellipsoid(backend_session):
    # Longyearbyen; 150 km due east is ~6.5 degrees of longitude at 78 N
    add_traveller(backend_session, ("point", "NO", (78.20, 22.0), DURING), external_id="east-150km")
    add_traveller(backend_session, ("point", "NO", (78.22, 30.0), DURING), external_id="east-330km")

    zone = circle(78.22, 15.65, 200)

    assert ids(backend_session, find_affected(backend_session, zone, START, END)) == ["east-150km"]


def test_polygon_edge_counts_as_inside(backend_session):
    add_traveller(backend_session, ("point", "FR", (46.0, 2.0), DURING), external_id="on-edge")
    square = parse_geojson({"type": "Polygon",
                            "coordinates": [[[2, 45], [3, 45], [3, 47], [2, 47], [2, 45]]]})

    assert ids(backend_session, find_affected(backend_session, square, START, END)) == ["on-edge"]


def test_empty_registry_gives_nobody(backend_session):
    assert find_affected(backend_session, OTTAWA_300, START, END) == []
    assert count_affected(backend_session, OTTAWA_300, START, END) == 0


def test_affected_rows_carry_the_external_contract_fields(backend_session):
    traveller = add_traveller(backend_session, ("point", "CA", MONTREAL, DURING), external_id="ext-42")

    [row] = find_affected(backend_session, OTTAWA_300, START, END)
    data = row.as_dict()

    assert external_ids(backend_session, [data["traveller_id"]]) == {traveller.id: "ext-42"}
    assert data["traveller_id"] == traveller.id
    assert data["precision"] in ("point", "country")
    assert data["stop_id"] == traveller.trips[0].stops[0].id


@given(st.lists(st.one_of(st.floats(min_value=0, max_value=25_000, allow_nan=False),
                          st.integers(min_value=0, max_value=25_000_000).map(lambda m: m / 1000 + 0.0005)),
                max_size=50))
def test_distances_are_rounded_to_the_metre_exactly_as_python_rounds_them(values):
    """The ranked answers round distances with numpy; a traveller's distance must not differ
    by a metre from the unindexed path, which uses Python's round (halves included)."""
    assert _round_3(np.array(values, dtype=float)).tolist() == [round(v, 3) for v in values]
