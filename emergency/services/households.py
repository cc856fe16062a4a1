"""Households: a traveller's answer covers the companions on their registration, unless a
companion answers for themselves.

Everyone in a household has one status in an incident, decided from the answers about them:

- the traveller: their latest answer (`companion_id` empty), whoever gave it;
- a companion: their own latest answer (`reported_by` "companion" on a row naming them)
  whenever it came, since nobody knows better than the person; else the latest answer given
  for them by name (by the traveller or an officer); else the traveller's latest answer,
  which covers them; else none.

`basis` says which it was: "own" (the person answered), "for" (someone answered for this
person by name) or "covered" (a companion counted under the traveller's answer). A status
given by someone other than the person ("for", "covered") is "covered by someone else" on
the dashboard. Answers received after the incident was closed (`late`) are shown, but the
figures leave them out, as for travellers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, literal, select, union

from emergency.core.database import db_session
from emergency.core.models import AlertRecipient, Incident, SafetyResponse
from registry.models import Companion, Traveller

OWN, FOR, COVERED = "own", "for", "covered"


def traveller_answers(incident_id: int, on_time_only: bool = False):
    """Subquery: each traveller's latest answer about themselves (traveller_id, status,
    received_at, late, reported_by). With `on_time_only`, answers received after closing are
    left out (what the figures count)."""
    where = [SafetyResponse.incident_id == incident_id, SafetyResponse.companion_id.is_(None)]
    if on_time_only:
        where.append(SafetyResponse.late.is_(False))
    ranked = (
        select(
            SafetyResponse.traveller_id, SafetyResponse.status, SafetyResponse.received_at, SafetyResponse.late,
            SafetyResponse.reported_by,
            func.row_number().over(
                partition_by=SafetyResponse.traveller_id,
                order_by=(SafetyResponse.received_at.desc(), SafetyResponse.id.desc()),
            ).label("rank"),
        ).where(*where)
    ).subquery()
    return (select(ranked.c.traveller_id, ranked.c.status, ranked.c.received_at, ranked.c.late,
                   ranked.c.reported_by)
            .where(ranked.c.rank == 1).subquery())


def companion_answers(incident_id: int, on_time_only: bool = False):
    """Subquery: the answer that speaks for each companion who has one given by name
    (companion_id, traveller_id, status, reported_by): their own latest if any, else the
    latest given for them."""
    where = [SafetyResponse.incident_id == incident_id, SafetyResponse.companion_id.is_not(None)]
    if on_time_only:
        where.append(SafetyResponse.late.is_(False))
    ranked = (
        select(
            SafetyResponse.companion_id, SafetyResponse.traveller_id, SafetyResponse.status,
            SafetyResponse.reported_by,
            func.row_number().over(
                partition_by=SafetyResponse.companion_id,
                order_by=(case((SafetyResponse.reported_by == "companion", 0), else_=1),
                          SafetyResponse.received_at.desc(), SafetyResponse.id.desc()),
            ).label("rank"),
        ).where(*where)
    ).subquery()
    return (select(ranked.c.companion_id, ranked.c.traveller_id, ranked.c.status, ranked.c.reported_by)
            .where(ranked.c.rank == 1).subquery())


def household_stats(incident: Incident) -> dict:
    """Per-person figures: the households of everyone on the incident's recipient lists and of
    anyone who answered anyway (travellers plus their companions), counted safe, need help or
    no answer, and how many of those statuses were given by someone other than the person.
    Late answers are left out."""
    session = db_session()
    travellers = traveller_answers(incident.id, on_time_only=True)
    named = companion_answers(incident.id, on_time_only=True)
    asked = union(
        select(AlertRecipient.traveller_id).where(AlertRecipient.incident_id == incident.id),
        select(travellers.c.traveller_id),
    ).subquery()
    counts = {"safe": 0, "need_help": 0, "no_answer": 0}
    people = {"travellers": 0, "companions": 0}
    covered = 0

    traveller_covered = case((travellers.c.reported_by == "traveller", False), else_=True)
    for status, by_other, n in session.execute(
        select(travellers.c.status, traveller_covered, func.count())
        .select_from(asked).outerjoin(travellers, travellers.c.traveller_id == asked.c.traveller_id)
        .group_by(travellers.c.status, traveller_covered)
    ):
        counts[status or "no_answer"] += n
        people["travellers"] += n
        covered += n if status and by_other else 0

    status = func.coalesce(named.c.status, travellers.c.status)
    companion_covered = case((named.c.status.is_not(None), named.c.reported_by != "companion"),
                             (travellers.c.status.is_not(None), literal(True)), else_=literal(False))
    for value, by_other, n in session.execute(
        select(status, companion_covered, func.count())
        .select_from(Companion)
        .join(asked, asked.c.traveller_id == Companion.traveller_id)
        .outerjoin(named, named.c.companion_id == Companion.id)
        .outerjoin(travellers, travellers.c.traveller_id == Companion.traveller_id)
        .group_by(status, companion_covered)
    ):
        counts[value or "no_answer"] += n
        people["companions"] += n
        covered += n if value and by_other else 0
    return {"people": people["travellers"] + people["companions"], **people, **counts,
            "covered_by_someone_else": covered}


# ------------------------------------------------------------------ one household at a time


@dataclass
class Person:
    """Someone in a household and where their status comes from."""

    traveller_id: int
    companion_id: int | None
    name: str
    status: str | None = None
    basis: str | None = None  # OWN, FOR, COVERED, or None (no answer)
    answer: SafetyResponse | None = None  # the answer the status comes from
    history: list[SafetyResponse] = field(default_factory=list)  # answers about this person, oldest first

    @property
    def kind(self) -> str:
        return "traveller" if self.companion_id is None else "companion"

    @property
    def covered_by_someone_else(self) -> bool:
        return self.basis in (FOR, COVERED)

    @property
    def received_at(self) -> datetime | None:
        return self.answer.received_at if self.answer is not None else None

    @property
    def late(self) -> bool:
        return bool(self.answer is not None and self.answer.late)


def _latest(rows: list[SafetyResponse]) -> SafetyResponse | None:
    return max(rows, key=lambda r: (r.received_at, r.id)) if rows else None


def resolve(traveller: Traveller, companions: list[Companion], rows: list[SafetyResponse]) -> list[Person]:
    """The household's people (the traveller first, then each companion) with their status,
    from `rows`: every answer about this household in one incident."""
    own_rows = [r for r in rows if r.companion_id is None]
    mine = _latest(own_rows)
    head = Person(traveller.id, None, traveller.full_name, history=sorted(own_rows, key=lambda r: (r.received_at, r.id)))
    if mine is not None:
        head.status, head.answer = mine.status, mine
        head.basis = OWN if mine.reported_by == "traveller" else FOR
    people = [head]
    for c in companions:
        about = sorted((r for r in rows if r.companion_id == c.id), key=lambda r: (r.received_at, r.id))
        person = Person(traveller.id, c.id, f"{c.given_name} {c.family_name}", history=about)
        own = _latest([r for r in about if r.reported_by == "companion"])
        given = _latest(about)
        if own is not None:
            person.status, person.basis, person.answer = own.status, OWN, own
        elif given is not None:
            person.status, person.basis, person.answer = given.status, FOR, given
        elif mine is not None:
            person.status, person.basis, person.answer = mine.status, COVERED, mine
        people.append(person)
    return people


def households(incident_id: int, traveller_ids: list[int]) -> dict[int, list[Person]]:
    """Each traveller's household with everyone's status in this incident (late answers
    included: a "need help" after closing must be seen)."""
    if not traveller_ids:
        return {}
    session = db_session()
    travellers: dict[int, Traveller] = {}
    companions: dict[int, list[Companion]] = {}
    rows: dict[int, list[SafetyResponse]] = {}
    for start in range(0, len(traveller_ids), 900):
        chunk = traveller_ids[start:start + 900]
        travellers.update((t.id, t) for t in session.scalars(select(Traveller).where(Traveller.id.in_(chunk))))
        for c in session.scalars(select(Companion).where(Companion.traveller_id.in_(chunk)).order_by(Companion.id)):
            companions.setdefault(c.traveller_id, []).append(c)
        for r in session.scalars(select(SafetyResponse).where(SafetyResponse.incident_id == incident_id,
                                                              SafetyResponse.traveller_id.in_(chunk))):
            rows.setdefault(r.traveller_id, []).append(r)
    return {tid: resolve(travellers[tid], companions.get(tid, []), rows.get(tid, []))
            for tid in traveller_ids if tid in travellers}


def household(incident_id: int, traveller_id: int) -> list[Person]:
    return households(incident_id, [traveller_id]).get(traveller_id, [])


def companion_of(traveller_id: int, companion_id) -> Companion | None:
    """The companion `companion_id` if they are on this traveller's registration, else None
    (an id from a form or a request is never trusted to name someone in this household)."""
    if not isinstance(companion_id, int) or isinstance(companion_id, bool):
        return None
    companion = db_session().get(Companion, companion_id)
    return companion if companion is not None and companion.traveller_id == traveller_id else None


def recipient_page(incident_id: int, page: int, per_page: int) -> tuple[list[int], int]:
    """One page of the travellers on the incident's recipient lists (by id), and how many
    there are."""
    session = db_session()
    ids = select(AlertRecipient.traveller_id).where(AlertRecipient.incident_id == incident_id).distinct()
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    chosen = list(session.scalars(ids.order_by(AlertRecipient.traveller_id)
                                  .limit(per_page).offset((page - 1) * per_page)))
    return chosen, total
