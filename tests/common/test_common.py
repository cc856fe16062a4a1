"""The shared bottom package: one translation marker, one clock, one naming convention."""
from datetime import datetime, timedelta, timezone

from sqlalchemy.schema import CreateTable

from common.clock import utcnow
from common.i18n import N_
from common.models import package_metadata


def test_n_marks_text_for_translation_without_translating_it():
    assert N_("Zone %(name)s") == "Zone %(name)s"


def test_utcnow_is_an_aware_utc_time_of_now():
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_every_package_names_its_constraints_by_the_same_pattern():
    from emergency.core.models import Alert
    from notify.models import Delivery
    from registry.models import Stop

    assert "CONSTRAINT pk_stops PRIMARY KEY" in str(CreateTable(Stop.__table__))
    assert "CONSTRAINT pk_deliveries PRIMARY KEY" in str(CreateTable(Delivery.__table__))
    assert "CONSTRAINT fk_alerts_incident_id_incidents FOREIGN KEY" in str(CreateTable(Alert.__table__))


def test_each_package_keeps_its_own_tables():
    from emergency.core.models import AppBase
    from notify.models import NotifyBase
    from registry.models import RegistryBase

    tables = [set(base.metadata.tables) for base in (RegistryBase, NotifyBase, AppBase)]
    assert all(tables)
    assert not (tables[0] & tables[1] or tables[0] & tables[2] or tables[1] & tables[2])


def test_a_fresh_metadata_does_not_share_tables_with_another():
    from sqlalchemy import Column, Integer, Table

    first, second = package_metadata(), package_metadata()
    table = Table("things", first, Column("id", Integer, primary_key=True))
    assert "things" not in second.tables
    assert "CONSTRAINT pk_things PRIMARY KEY" in str(CreateTable(table))
