"""The on-call list in the console ("oncall" blueprint, /on-call): who is told when a case
opens or an approval is requested, their phone for text messages, and the latest messages
they were sent with their status.

Coordinators and up see it and change it (staff phone numbers are on it, so viewers do
not); the rules are `services.staff_notifications`', as in the API.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField

from emergency.core.auth import role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import User
from emergency.services import staff_notifications as service

bp = Blueprint("oncall", __name__)

KIND_LABELS = {"case_opened": _l("Case opened"), "case_reopened": _l("Case reopened"),
               "approval_requested": _l("Approval requested"), "rule_fired": _l("Hazard rule fired"),
               "hazard_withdrawn": _l("Hazard withdrawn")}
STATE_LABELS = {"pending": _l("Pending"), "sending": _l("Sending"), "sent": _l("Sent"), "failed": _l("Failed")}
LANGUAGE_LABELS = {"en": "English", "fr": "Français"}


class OnCallForm(FlaskForm):
    on_call = BooleanField(_l("On call"))
    phone = StringField(_l("Mobile phone (international format)"))


def member_form(user: User, blank: bool = False) -> OnCallForm:
    """One user's row form, under a prefix of its own so the page's forms keep distinct ids."""
    form = OnCallForm(prefix=f"user-{user.id}", **({"formdata": None} if blank else {}))
    if blank:
        form.on_call.data = user.on_call
        form.phone.data = user.phone or ""
    return form


def _page(errors: dict | None = None, forms: dict | None = None, status: int = 200):
    members = service.staff()
    forms = forms or {}
    return render_template(
        "console/oncall.html", members=members,
        forms={u.id: forms.get(u.id) or member_form(u, blank=True) for u in members},
        errors=errors or {}, notifications=service.recent(), kind_labels=KIND_LABELS,
        state_labels=STATE_LABELS, language_labels=LANGUAGE_LABELS), status


@bp.get("/on-call")
@role_required(service.ON_CALL_ROLE)
def index():
    return _page()


@bp.post("/on-call/<int:user_id>")
@role_required(service.ON_CALL_ROLE)
def update(user_id: int):
    try:
        user = service.staff_member(user_id)
    except service.OnCallError:
        return _page(status=404)
    form = member_form(user)
    if not form.validate_on_submit():
        db_session().rollback()
        return _page({user.id: _("Your session expired or the form was stale. Please try again.")},
                     {user.id: form}, 400)
    try:
        changed = service.update_member(user, on_call=bool(form.on_call.data), phone=form.phone.data or None)
    except service.OnCallError as err:
        db_session().rollback()
        return _page({user.id: translate(err)}, {user.id: form}, 422)
    if changed:
        flash(_("On-call details of %(name)s saved.", name=user.name or user.email), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("oncall.index") + f"#user-{user.id}")
