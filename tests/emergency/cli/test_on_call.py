"""`emergency set-on-call`: operators put staff on or off call and set their phone from the
command line; bad input is one line in the user's language and changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from emergency.core.models import User
from tests.emergency.cli.test_commands import FRENCH, error_line

pytestmark = pytest.mark.usefixtures("english_locale")


def member(app, email: str) -> User:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(User).where(User.email == email))


def test_an_operator_puts_an_approver_on_call_with_a_phone(runner, app):
    result = runner.invoke(args=["set-on-call", "Approver@Example.org", "--on", "--phone", "+33 6 12 34 56 78"])
    assert result.exit_code == 0, result.output
    assert "approver@example.org is on call; phone: +33612345678." in result.output
    ada = member(app, "approver@example.org")
    assert (ada.on_call, ada.phone) == (True, "+33612345678")
    assert runner.invoke(args=["set-on-call", "approver@example.org", "--off"]).exit_code == 0
    assert member(app, "approver@example.org").on_call is False


def test_an_invalid_phone_is_one_line_in_french_and_changes_nothing(runner, app):
    french = error_line(runner.invoke(args=["set-on-call", "approver@example.org", "--on", "--phone", "0612"],
                                      env=FRENCH))
    assert "Écrivez le numéro au format international" in french
    assert member(app, "approver@example.org").on_call is False


def test_a_viewer_or_an_unknown_address_is_refused(runner):
    assert "can be on call" in error_line(runner.invoke(args=["set-on-call", "viewer@example.org", "--on"]))
    assert "nobody@example.org" in error_line(runner.invoke(args=["set-on-call", "nobody@example.org", "--on"]))
    assert "Give --on, --off or --phone." in error_line(runner.invoke(args=["set-on-call", "viewer@example.org"]))
