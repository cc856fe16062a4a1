"""The synthetic registry: the right number of travellers, realistic mixes of precision,
language and timing, contacts that are valid yet reach no one, and reproducible output."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from registry.models import Stop, Traveller, Trip
from registry.seed import seed
from registry.validation import normalise_email, normalise_phone

TODAY = date(2025, 6, 15)


def travellers(session, offset: int = 0, limit: int | None = None) -> list[Traveller]:
    query = select(Traveller).order_by(Traveller.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


@pytest.fixture
def seeded(backend_session):
    seed(backend_session, 800, today=TODAY)
    backend_session.commit()
    return backend_session


def test_seed_creates_n_travellers_each_with_one_trip_of_one_to_three_stops(seeded):
    s = seeded
    assert s.scalar(select(func.count()).select_from(Traveller)) == 800
    assert s.scalar(select(func.count()).select_from(Trip)) == 800
    per_trip = Counter(s.scalars(select(func.count()).select_from(Stop).group_by(Stop.trip_id)))
    assert set(per_trip) == {1, 2, 3}
    assert s.scalar(select(func.count()).select_from(Stop).join(Trip, Trip.id == Stop.trip_id)
                    .where(Trip.traveller_id != Stop.traveller_id)) == 0


def test_seed_mixes_city_point_and_country_precision_mostly_city(seeded):
    counts = dict(seeded.execute(select(Stop.precision, func.count()).group_by(Stop.precision)).all())
    total = sum(counts.values())
    assert counts["city"] / total > 0.5
    assert 0.15 < counts["point"] / total < 0.35
    assert 0.07 < counts["country"] / total < 0.25


def test_city_and_point_stops_have_coordinates_and_country_stops_have_none(seeded):
    for precision, place, lat, lon in seeded.execute(select(Stop.precision, Stop.place, Stop.lat, Stop.lon)):
        if precision == "country":
            assert (place, lat, lon) == (None, None, None)
        else:
            assert place and -90 <= lat <= 90 and -180 <= lon <= 180


def test_travellers_are_abroad_and_mostly_where_people_are(seeded):
    countries = Counter(seeded.scalars(select(Stop.country)))
    assert "CA" not in countries
    assert len(countries) > 30
    assert sum(countries[c] for c in ("CN", "IN", "US", "JP", "BR")) > sum(countries[c] for c in ("IS", "BT", "MT"))


def test_contacts_are_valid_unique_and_fictional(seeded):
    people = travellers(seeded)
    emails = [t.email for t in people]
    assert len(set(emails)) == len(emails)
    for t in people:
        assert normalise_email(t.email) == t.email
        assert t.email.rsplit("@", 1)[1] in ("example.org", "example.com", "example.net")
        assert normalise_phone(t.phone) == t.phone
        assert t.phone.startswith("+1") and t.phone[5:9] == "5550"


def test_about_a_quarter_read_french_with_french_canadian_names(seeded):
    people = travellers(seeded)
    languages = Counter(t.language for t in people)
    assert 0.18 < languages["fr"] / len(people) < 0.32
    french_names = {"Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie"}
    assert any(t.family_name in french_names for t in people if t.language == "fr")
    assert all(t.source == "seed" and t.consent_at is not None for t in people)


def test_trips_lie_in_the_past_present_and_future_with_sane_windows(seeded):
    stops = seeded.execute(select(Stop.arrival, Stop.departure)).all()
    assert all(d is None or d >= a for a, d in stops)
    past = sum(1 for a, d in stops if d is not None and d < TODAY)
    present = sum(1 for a, d in stops if a <= TODAY and (d is None or d >= TODAY))
    future = sum(1 for a, d in stops if a > TODAY)
    assert past and present and future


def test_external_ids_are_numbered_and_a_second_seed_continues_the_numbering(seeded):
    s = seeded
    seed(s, 10, today=TODAY)
    s.commit()
    ids = s.scalars(select(Traveller.external_id).order_by(Traveller.id)).all()
    assert ids[0] == "SEED-000001" and ids[799] == "SEED-000800"
    assert ids[800:] == [f"SEED-{n:06d}" for n in range(801, 811)]


def _profile(people: list[Traveller]) -> list[tuple]:
    return [(t.given_name, t.family_name, t.language, t.phone,
             tuple((st.country, st.place, st.precision, st.lat, st.lon, st.arrival, st.departure)
                   for st in t.trips[0].stops))
            for t in people]


def test_the_same_rng_seed_gives_the_same_travellers(backend_session):
    s = backend_session
    seed(s, 50, rng_seed=7, today=TODAY)
    seed(s, 50, rng_seed=7, today=TODAY)
    seed(s, 50, rng_seed=8, today=TODAY)
    s.commit()
    first, again, other = (_profile(travellers(s, offset, 50)) for offset in (0, 50, 100))
    assert first == again
    assert first != other


def test_progress_reports_each_chunk_as_an_increment_adding_up_to_n(backend_session, monkeypatch):
    monkeypatch.setattr("registry.seed.CHUNK", 10)
    seen: list[int] = []
    assert seed(backend_session, 25, progress=seen.append, today=TODAY) == 25
    assert seen == [10, 10, 5]
    assert backend_session.scalar(select(func.count()).select_from(Traveller)) == 25


def test_seeding_nobody_does_nothing(backend_session):
    assert seed(backend_session, 0) == 0
    assert backend_session.scalar(select(func.count()).select_from(Traveller)) == 0
