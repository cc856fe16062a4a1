"""The incident page's follow-up panel: change the plan, pause, resume, send the next
round now (coordinators; everyone signed in sees the panel). The rules are
`services.followup`'s, as in the API; each action is audited there."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from emergency.core.auth import role_required
from emergency.core.i18n_errors import translate
from emergency.services import followup
from emergency.web.console.blueprint import bp, get_incident_or_404
from emergency.web.console.forms import FollowupPlanForm, PostForm
from emergency.web.console.incidents import incident_view_context


def _back(incident_id: int):
    return redirect(url_for("console.incident", incident_id=incident_id, _anchor="followup"))


@bp.post("/incidents/<int:incident_id>/followup")
@role_required("coordinator")
def update_followup(incident_id: int):
    incident = get_incident_or_404(incident_id)
    form = FollowupPlanForm()
    if form.validate_on_submit():
        try:
            followup.update_plan(incident.id, {"delay_minutes": form.delay_minutes.data,
                                               "max_rounds": form.max_rounds.data,
                                               "tell_contacts": bool(form.tell_contacts.data)})
        except followup.FollowupError as err:
            field = getattr(form, err.field, None)
            if field is not None:
                field.errors = [*field.errors, translate(err)]
            else:
                flash(translate(err), "error")
        else:
            flash(_("Follow-up plan saved."), "success")
            return _back(incident.id)
    flash(_("The follow-up plan was not saved. Please correct the errors below."), "error")
    page = incident_view_context(incident)
    page["followup_form"] = form
    return render_template("console/incident.html", **page), 400


@bp.post("/incidents/<int:incident_id>/followup/pause")
@role_required("coordinator")
def pause_followup(incident_id: int):
    incident = get_incident_or_404(incident_id)
    if PostForm().validate_on_submit():
        followup.pause(incident.id)
        flash(_("Follow-up paused: no round is sent until it is resumed."), "success")
    return _back(incident.id)


@bp.post("/incidents/<int:incident_id>/followup/resume")
@role_required("coordinator")
def resume_followup(incident_id: int):
    incident = get_incident_or_404(incident_id)
    if PostForm().validate_on_submit():
        followup.resume(incident.id)
        flash(_("Follow-up resumed."), "success")
    return _back(incident.id)


@bp.post("/incidents/<int:incident_id>/followup/rounds")
@role_required("coordinator")
def send_followup_round(incident_id: int):
    incident = get_incident_or_404(incident_id)
    if PostForm().validate_on_submit():
        try:
            alert = followup.send_round_now(incident.id)
        except followup.FollowupError as err:
            flash(translate(err), "error")
        else:
            if alert.status == "draft":
                flash(_("The round reaches many people: it waits for a second person's approval (alert %(id)s).",
                        id=alert.id), "info")
            else:
                flash(_("Follow-up round sent (alert %(id)s).", id=alert.id), "success")
    return _back(incident.id)
