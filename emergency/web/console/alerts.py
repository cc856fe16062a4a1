"""Alerts in the console: compose (with live SMS counts), approve, send."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required

from emergency.core.auth import role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import Alert
from emergency.services import alerts as alert_service
from emergency.services import composer
from emergency.web.console.blueprint import bp, get_incident_or_404
from emergency.web.console.forms import AlertForm, PostForm
from emergency.web.console.incidents import incident_view_context


@bp.post("/incidents/<int:incident_id>/alerts")
@role_required("coordinator")
def compose_alert(incident_id: int):
    incident = get_incident_or_404(incident_id)
    form = AlertForm()
    if form.validate_on_submit():
        try:
            alert = alert_service.compose_alert(incident, form.texts(), list(form.channels.data),
                                                kind=form.kind.data or "safety_check")
        except alert_service.AlertError as err:
            flash(translate(err), "error")
        else:
            flash(_("Alert %(id)s saved as a draft.", id=alert.id), "success")
            return redirect(url_for("console.incident", incident_id=incident.id, _anchor="alerts"))
    else:
        for field, messages in form.errors.items():
            label = getattr(form, field).label.text if hasattr(form, field) else field
            for message in messages:
                flash(f"{label}: {message}", "error")
    # Re-show the page with what was typed, so nothing is lost.
    page = incident_view_context(incident)
    page["form"] = form
    return render_template("console/incident.html", **page), 400


def _get_alert_or_404(alert_id: int) -> Alert:
    alert = db_session().get(Alert, alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.post("/alerts/<int:alert_id>/approve")
@role_required("approver")
def approve_alert(alert_id: int):
    alert = _get_alert_or_404(alert_id)
    if PostForm().validate_on_submit():
        try:
            alert_service.approve_alert(alert)
        except alert_service.AlertError as err:
            flash(translate(err), "error")
        else:
            flash(_("Alert %(id)s approved.", id=alert.id), "success")
    return redirect(url_for("console.incident", incident_id=alert.incident_id, _anchor="alerts"))


@bp.post("/alerts/<int:alert_id>/send")
@role_required("coordinator")
def send_alert(alert_id: int):
    alert = _get_alert_or_404(alert_id)
    if PostForm().validate_on_submit():
        # The recipients are frozen by a background job after this answer: count them now,
        # the way that job will, rather than read a recipient count it has not set yet.
        count = alert_service.reach(alert)
        try:
            alert = alert_service.send_alert(alert)
        except alert_service.AlertError as err:
            flash(translate(err), "error")
        else:
            flash(ngettext("Alert %(id)s is being sent to %(num)d person.",
                           "Alert %(id)s is being sent to %(num)d people.", count, id=alert.id), "success")
    return redirect(url_for("console.incident", incident_id=alert.incident_id, _anchor="alerts"))


def _json_payload():
    """The JSON object the page's script posted, {} for a form post, or None for a JSON
    body that is malformed, nested too deeply or not an object."""
    if not request.is_json:
        return {}
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else None


def _not_an_object():
    return jsonify({"error": _("The request body must be a JSON object.")}), 400


@bp.post("/alerts/sms-info")
@login_required
def sms_info():
    """Length, encoding (GSM-7 or UCS-2) and real segment count of an SMS text."""
    payload = _json_payload()
    if payload is None:
        return _not_an_object()
    text = payload.get("text", request.form.get("text", ""))
    if not isinstance(text, str):
        return jsonify({"error": _("The text must be a string.")}), 400
    return jsonify(alert_service.sms_info(text))


@bp.post("/incidents/<int:incident_id>/sms-estimate")
@login_required
def sms_estimate(incident_id: int):
    """Per-language SMS recipients, encoding and segments, and the total segments of the send."""
    incident = get_incident_or_404(incident_id)
    payload = _json_payload()
    if payload is None:
        return _not_an_object()
    texts = {lang: payload.get(f"sms_{lang}", "") for lang in ("en", "fr")}
    if not all(isinstance(t, str) for t in texts.values()):
        return jsonify({"error": _("The text must be a string.")}), 400
    return jsonify(composer.incident_estimate(incident, texts["en"], texts["fr"]))
