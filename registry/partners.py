"""Partners: tour operators, schools and agencies that keep their own travellers in the registry.

A partner's records are its own: every query here takes the partner's id and filters on it,
so a partner token can neither read nor change another partner's travellers, nor the public
registry's. Coordinators still see every record (a crisis does not care who imported whom).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from common.i18n import N_
from registry.models import Partner, Traveller, Trip

MAX_NAME_LENGTH = 200


class PartnerError(ValueError):
    """A partner could not be created or found; `message` is an English template (marked
    with N_) and `params` its values, translated by `i18n_errors.translate`."""

    def __init__(self, message: str, **params) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


def create_partner(session: Session, name: str) -> Partner:
    """Add a partner; names are unique (case-insensitive) and not blank. Caller commits."""
    clean = " ".join((name or "").split())
    if not clean:
        raise PartnerError(N_("A partner needs a name."))
    if len(clean) > MAX_NAME_LENGTH:
        raise PartnerError(N_("A partner name has at most %(max)d characters."), max=MAX_NAME_LENGTH)
    if find_partner(session, clean) is not None:
        raise PartnerError(N_("A partner named %(name)s already exists."), name=clean)
    partner = Partner(name=clean)
    session.add(partner)
    session.flush()
    return partner


def find_partner(session: Session, name: str) -> Partner | None:
    """The partner with this name (case and surrounding spaces ignored), or None."""
    clean = " ".join((name or "").split())
    return session.scalar(select(Partner).where(func.lower(Partner.name) == clean.lower()))


def partner_travellers(session: Session, partner_id: int, page: int = 1,
                       per_page: int = 50) -> tuple[list[Traveller], int]:
    """One page of the partner's travellers (by external_id) and the partner's total."""
    owned = Traveller.partner_id == partner_id
    total = session.scalar(select(func.count()).select_from(Traveller).where(owned)) or 0
    rows = session.scalars(
        select(Traveller).where(owned).order_by(Traveller.external_id, Traveller.id)
        .offset((page - 1) * per_page).limit(per_page)
        .options(selectinload(Traveller.trips).selectinload(Trip.stops))
    ).all()
    return list(rows), total


def partner_traveller(session: Session, partner_id: int, external_id: str) -> Traveller | None:
    """The partner's traveller with this external_id; None for anyone else's."""
    return session.scalar(
        select(Traveller).where(Traveller.partner_id == partner_id, Traveller.external_id == external_id))
