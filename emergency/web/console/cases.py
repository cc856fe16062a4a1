"""Cases in the console ("cases" blueprint): the queue of people waiting for an officer and
each case's page, where officers assign, change status and priority, write notes, record
their calls and the answers travellers give them by phone.

Viewers read; coordinators and up act. Opening a case page shows the traveller's contacts,
so it is logged as a view of their record (`traveller.viewed`), like the traveller page.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from common.clock import utcnow
from emergency.core import audit
from emergency.core.auth import acting_user, role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import Case
from emergency.core.timeutil import as_utc
from emergency.services import case_queue, cases
from emergency.services import incidents as incident_service
from emergency.services.exports import may_export_contacts
from emergency.services.households import household
from emergency.services.phone_answers import record_phone_answer
from emergency.services.responses import latest_response
from emergency.web.console.case_forms import (
    ANSWER_LABELS,
    CASE_STATUS_LABELS,
    METHOD_LABELS,
    OUTCOME_LABELS,
    PRIORITY_LABELS,
    action_form,
    companion_choice,
    person_choices,
)

bp = Blueprint("cases", __name__)

SOURCE_LABELS = {"link": _l("the email's link"), "web": _l("the web page"), "sms": _l("text message"),
                 "console": _l("the console"), "phone": _l("phone, to an officer"),
                 "checkin": _l("the check-in form")}
LABELS = {"status": CASE_STATUS_LABELS, "priority": PRIORITY_LABELS, "method": METHOD_LABELS,
          "outcome": OUTCOME_LABELS, "source": SOURCE_LABELS, "answer": ANSWER_LABELS}


def waited(seconds: int) -> str:
    """A wait, short enough for a table cell: "2 d 3 h", "3 h 05 min", "4 min"."""
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)02d min", hours=hours, minutes=minutes)
    if minutes:
        return _("%(minutes)d min", minutes=minutes)
    return _("less than a minute")


@bp.app_context_processor
def _case_helpers():
    def case_label(kind: str, value) -> str:
        label = LABELS.get(kind, {}).get(value)
        return str(label) if label is not None else ("—" if value in (None, "") else str(value))

    def open_cases() -> int:
        """The nav's count of cases waiting for an officer (asked only by a signed-in page)."""
        return case_queue.open_count()

    return {"case_label": case_label, "open_cases": open_cases, "waited": waited}


def _case_or_404(case_id: int) -> Case:
    case = cases.get_case(case_id)
    if case is None:
        abort(404)
    return case


def _queue_url(f: case_queue.QueueFilter, page: int) -> str:
    args = {"status": f.status, "page": page}
    if f.incident_id is not None:
        args["incident"] = f.incident_id
    if f.assignee is not None:
        args["assignee"] = f.assignee
    return url_for("cases.queue", **args)


@bp.get("/cases")
@role_required("viewer")
def queue():
    error, status_code = None, 200
    try:
        f = case_queue.parse_filter(request.args)
    except case_queue.QueueFilterError as err:
        f, error, status_code = case_queue.QueueFilter(), translate(err), 400
    rows, total = case_queue.queue(f)
    pages = max(1, -(-total // f.per_page))
    return render_template(
        "console/cases.html", rows=rows, total=total, f=f, error=error, pages=pages,
        prev_url=_queue_url(f, f.page - 1) if f.page > 1 else None,
        next_url=_queue_url(f, f.page + 1) if f.page < pages else None,
        incidents=incident_service.list_incidents(), officers=cases.assignable_users(),
        status_filters=case_queue.STATUS_FILTERS, waiting=case_queue.waiting_seconds), status_code


@bp.get("/cases/<int:case_id>")
@role_required("viewer")
def case_page(case_id: int):
    case = _case_or_404(case_id)
    people = household(case.incident_id, case.traveller_id)
    audit.record("traveller.viewed", "traveller", case.traveller_id, via="case", case_id=case.id)
    db_session().commit()
    forms = {name: action_form(name, blank=True) for name in ("status", "assign", "priority", "note",
                                                              "contact", "answer")}
    forms["status"].status.choices = [(s, CASE_STATUS_LABELS[s]) for s in cases.allowed_statuses(case)]
    forms["assign"].assignee.choices = _assignee_choices()
    forms["assign"].assignee.data = str(case.assignee_id or "")
    forms["priority"].priority.data = case.priority
    traveller = case.traveller
    forms["answer"].person.choices = person_choices(traveller)
    return render_template(
        "console/case.html", case=case, t=traveller, forms=forms,
        location=case_queue.latest_stop(traveller), answer=latest_response(case.incident_id, traveller.id),
        waiting=case_queue.waiting_seconds(case), open_for=_seconds_since(case.opened_at), people=people,
        show_contacts=may_export_contacts(acting_user()))


def _seconds_since(moment: datetime) -> int:
    return max(0, int((utcnow() - as_utc(moment)).total_seconds()))


def _assignee_choices() -> list[tuple[str, str]]:
    return [("", str(_l("Nobody")))] + [(str(u.id), u.name or u.email) for u in cases.assignable_users()]


def _back(case: Case):
    return redirect(url_for("cases.case_page", case_id=case.id))


def _refused(case: Case, message: str):
    flash(message, "error")
    return _back(case)


def _form_errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors if e)


@bp.post("/cases/<int:case_id>/<action>")
@role_required("coordinator")
def act(case_id: int, action: str):
    """One officer action on the case; the outcome is said in a flash on the case page."""
    case = _case_or_404(case_id)
    if action not in ("status", "assign", "priority", "note", "contact", "answer"):
        abort(404)
    form = action_form(action)
    if action == "status":
        form.status.choices = list(CASE_STATUS_LABELS.items())
    elif action == "assign":
        form.assignee.choices = _assignee_choices()
    elif action == "answer":
        form.person.choices = person_choices(case.traveller)
    if not form.validate_on_submit():
        db_session().rollback()
        return _refused(case, _form_errors(form) or _("Please fill in the form."))
    user = acting_user()
    try:
        changed = _apply(case, action, form, user)
    except cases.CaseError as err:
        db_session().rollback()
        return _refused(case, translate(err))
    flash(SAVED[action] if changed else _("Nothing changed."), "success" if changed else "info")
    return _back(case)


SAVED = {"status": _l("Status changed."), "assign": _l("Officer changed."), "priority": _l("Priority changed."),
         "note": _l("Note added."), "contact": _l("Contact attempt recorded."),
         "answer": _l("Answer recorded.")}


def _apply(case: Case, action: str, form, user) -> bool:
    if action == "status":
        return cases.set_status(case, form.status.data, user)
    if action == "assign":
        return cases.assign(case, int(form.assignee.data) if form.assignee.data else None, user)
    if action == "priority":
        return cases.set_priority(case, form.priority.data, user)
    if action == "note":
        cases.add_note(case, form.note.data, user)
        return True
    if action == "contact":
        cases.record_contact(case, form.method.data, form.outcome.data, form.note.data, user)
        return True
    return record_phone_answer(case, form.status.data, form.message.data, user,
                               companion_id=companion_choice(form.person.data))
