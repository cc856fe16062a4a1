"""The page where a check-in's code is entered: `/checkin/<token>`, the token being the
report id signed by `emergency.services.checkin_codes`, never the code.

The right code records the check-in's answer as the registered traveller's; a wrong one
says so and how many tries are left; an expired code or too many tries say so and leave the
report unverified with consular staff. The page names no one: whoever opens it learns
nothing about the record the check-in matched (or whether it matched one). It exists only
while the incident is active, and posting codes is rate-limited per IP address.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from emergency.core.database import db_session
from emergency.core.models import CheckinReport, Incident
from emergency.core.rate_limits import CHECKIN_CODE_PER_IP, limiter
from emergency.services.checkin_codes import (
    CODE_DIGITS,
    ReportLinkInvalid,
    check_code,
    clean_code,
    read_report_token,
)
from emergency.web.public.checkin import code_form_texts

bp = Blueprint("checkin_verify", __name__)


@bp.after_request
def _private_page(response):
    """The token in the URL points at someone's check-in: no shared cache keeps the page,
    and no link on it sends the URL on as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _report_or_404(token: str) -> tuple[CheckinReport, Incident]:
    try:
        report_id = read_report_token(token)
    except ReportLinkInvalid:
        abort(404)
    session = db_session()
    report = session.get(CheckinReport, report_id)
    incident = session.get(Incident, report.incident_id) if report is not None else None
    if report is None or incident is None or incident.status != "active":
        abort(404)
    return report, incident


def _notice(outcome: str, tries_left: int) -> tuple[str, str, int]:
    """(css class, words, HTTP status) of what entering a code did."""
    if outcome == "verified":
        return "notice-safe", _("Thank you: your answer is confirmed and recorded."), 200
    if outcome == "already_verified":
        return "notice-safe", _("This answer is already confirmed."), 200
    if outcome == "malformed":
        return "notice-error", _("Enter the %(digits)d digits of the code.", digits=CODE_DIGITS), 400
    if outcome == "wrong" and tries_left > 0:
        return "notice-error", ngettext("This code is not right. You have %(num)d try left.",
                                        "This code is not right. You have %(num)d tries left.",
                                        tries_left), 400
    if outcome == "expired":
        return "notice-error", _("This code has expired, so this answer can no longer be confirmed. "
                                 "Consular staff still see it, marked unconfirmed. To confirm an "
                                 "answer, check in again and enter the new code."), 410
    return "notice-error", _("Too many wrong codes, so this answer can no longer be confirmed. "
                             "Consular staff still see it, marked unconfirmed."), 400


def _page(token: str, incident: Incident, notice: tuple[str, str] | None = None,
          done: bool = False, status: int = 200):
    return render_template("public/checkin_code.html", token=token, incident=incident,
                           form=code_form_texts(), notice=notice, done=done), status


@bp.get("/checkin/<token>")
def code_form(token: str):
    _report, incident = _report_or_404(token)
    return _page(token, incident)


@bp.post("/checkin/<token>")
@limiter.limit(CHECKIN_CODE_PER_IP, methods=["POST"])
def code_submit(token: str):
    report, incident = _report_or_404(token)
    code = clean_code(request.form.get("code"))
    if code is None:
        outcome, tries_left = "malformed", 0
    else:
        result = check_code(report, code)
        outcome, tries_left = result.outcome, result.tries_left
    css, words, status = _notice(outcome, tries_left)
    done = outcome in ("verified", "already_verified", "expired", "too_many") or (
        outcome == "wrong" and tries_left == 0)
    return _page(token, incident, notice=(css, words), done=done, status=status)
