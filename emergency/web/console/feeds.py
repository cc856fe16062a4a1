"""Feeds & rules in the console ("feeds" blueprint, /feeds): each hazard feed's health, the
latest events with their incidents, and the trigger rules.

Viewers and up see the page; coordinators create, edit and disable rules; administrators
also add feeds and allow a rule to send by itself (`auto_send_allowed`). The rules are
`services.trigger_rules`' (the API applies the same), and every change is audited there.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from emergency.core import audit
from emergency.core.auth import acting_user, role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.models import FEED_KINDS, Feed
from emergency.services import feeds as feed_service
from emergency.services import hazards, trigger_rules
from emergency.services.hazards import KIND_LABELS
from hazards.events import ALERT_LEVELS, KINDS

bp = Blueprint("feeds", __name__)

ACTION_LABELS = {"notify": _l("Tell the officers on call"), "draft": _l("Open a draft incident"),
                 "send": _l("Send the safety check")}
SOURCE_LABELS = {"any": _l("Any source"), "usgs": "USGS", "gdacs": "GDACS", "cap": "CAP"}
FEED_KIND_LABELS = {"usgs": _l("USGS earthquakes (GeoJSON)"), "gdacs": _l("GDACS disasters (RSS)"),
                    "cap_index": _l("CAP index (Atom or RSS)")}
LEVEL_LABELS = {"green": _l("Green"), "yellow": _l("Yellow"), "orange": _l("Orange"), "red": _l("Red")}


class CsrfForm(FlaskForm):
    """Only the CSRF token: the fields are read by `services.trigger_rules`."""


def _rule_data(form) -> dict:
    data = {name: form.get(name) for name in ("name", "source", "min_magnitude", "min_alert_level", "min_severity",
                                               "countries", "min_affected", "action")}
    data["kinds"] = form.getlist("kinds")
    data["enabled"] = form.get("enabled") == "y"
    if acting_user().has_role("admin"):
        data["auto_send_allowed"] = form.get("auto_send_allowed") == "y"
    return data


def _page(errors: dict | None = None, values: dict | None = None, status: int = 200, feed_error: str | None = None):
    feeds = feed_service.feeds()
    return render_template(
        "console/feeds.html", feeds=feeds, events=hazards.recent_events(50), rules=hazards.rules(),
        errors=errors or {}, values=values or {}, feed_error=feed_error, csrf=CsrfForm(),
        kinds=KINDS, kind_labels=KIND_LABELS, levels=ALERT_LEVELS, level_labels=LEVEL_LABELS, severities=trigger_rules.SEVERITIES,
        action_labels=ACTION_LABELS, source_labels=SOURCE_LABELS, feed_kinds=FEED_KINDS,
        feed_kind_labels=FEED_KIND_LABELS, unhealthy_after=feed_service.UNHEALTHY_AFTER), status


@bp.get("/feeds")
@role_required("viewer")
def index():
    return _page()


@bp.post("/feeds/rules")
@role_required("coordinator")
def create_rule():
    if not CsrfForm().validate_on_submit():
        return _page({"new": {"form": _("Your session expired or the form was stale. Please try again.")}}, status=400)
    try:
        rule = trigger_rules.create_rule(_rule_data(request.form))
    except trigger_rules.RuleError as err:
        db_session().rollback()
        return _page({"new": {err.field or "form": translate(err)}}, {"new": request.form}, 422)
    flash(_("Rule “%(name)s” saved.", name=rule.name), "success")
    return redirect(url_for("feeds.index") + f"#rule-{rule.id}")


@bp.post("/feeds/rules/<int:rule_id>")
@role_required("coordinator")
def update_rule(rule_id: int):
    rule = trigger_rules.get_rule(rule_id)
    if rule is None:
        abort(404)
    if not CsrfForm().validate_on_submit():
        return _page({rule.id: {"form": _("Your session expired or the form was stale. Please try again.")}}, status=400)
    try:
        trigger_rules.update_rule(rule, _rule_data(request.form), partial=False)
    except trigger_rules.RuleError as err:
        db_session().rollback()
        return _page({rule.id: {err.field or "form": translate(err)}}, {rule.id: request.form}, 422)
    flash(_("Rule “%(name)s” saved.", name=rule.name), "success")
    return redirect(url_for("feeds.index") + f"#rule-{rule.id}")


@bp.post("/feeds")
@role_required("admin")
def add_feed():
    if not CsrfForm().validate_on_submit():
        return _page(feed_error=_("Your session expired or the form was stale. Please try again."), status=400)
    try:
        feed = feed_service.add_feed(request.form.get("name"), request.form.get("kind"), request.form.get("url"))
    except feed_service.FeedRefused as err:
        db_session().rollback()
        return _page(feed_error=translate(err), status=422)
    flash(_("Feed “%(name)s” added; it is polled from now on.", name=feed.name), "success")
    return redirect(url_for("feeds.index") + f"#feed-{feed.id}")


@bp.post("/feeds/<int:feed_id>/toggle")
@role_required("admin")
def toggle_feed(feed_id: int):
    feed = db_session().get(Feed, feed_id)
    if feed is None:
        abort(404)
    if not CsrfForm().validate_on_submit():
        return _page(feed_error=_("Your session expired or the form was stale. Please try again."), status=400)
    feed.enabled = not feed.enabled
    audit.record("trigger.feed_enabled" if feed.enabled else "trigger.feed_disabled", "feed", feed.id)
    db_session().commit()
    return redirect(url_for("feeds.index") + f"#feed-{feed.id}")
