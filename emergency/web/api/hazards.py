"""Hazard events, trigger rules and feeds over the API, with the console's rules: viewers
read events, rules and the feeds' health; coordinators create and change rules; only an
administrator's token may set a rule's `auto_send_allowed` or add a feed. Validation is
`services.trigger_rules`' and `services.feeds`', so a refusal says the same as the console
does, in the caller's language (Accept-Language)."""
from __future__ import annotations

import shapely.geometry
from flask import jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from emergency.core.auth import acting_user, api_role_required
from emergency.core.database import db_session
from emergency.core.i18n_errors import translate
from emergency.core.inputs import whole_number
from emergency.core.models import HAZARD_SOURCES, HAZARD_STATES, Feed, Hazard, TriggerRule
from emergency.core.timeutil import iso_utc
from emergency.services import feeds as feed_service
from emergency.services import trigger_rules
from emergency.web.api.blueprint import bp
from emergency.web.api.errors import error_response, json_body
from hazards.events import KINDS

PER_PAGE, MAX_PER_PAGE = 50, 200
MAX_PAGE = 1_000_000  # far past the last page of any feed history; the offset stays a small number


def _zone_json(row: Hazard) -> dict | None:
    """What the zone is, in brief: how it was made (circle, polygon, bbox...) and its bounds."""
    if not row.zone_geojson:
        return None
    bounds = shapely.geometry.shape(row.zone_geojson).bounds
    return {"source": row.zone_source, "bbox": [round(b, 5) for b in bounds]}


def _incident_json(row: Hazard) -> dict | None:
    incident = row.incident
    if incident is None:
        return None
    return {"id": incident.id, "title": incident.title, "status": incident.status,
            "url": url_for("api.get_incident", incident_id=incident.id)}


def _event_json(row: Hazard, duplicates: list[int]) -> dict:
    summary = row.summary or {}
    return {
        "id": row.id, "source": row.source, "source_id": row.source_id, "feed_id": row.feed_id,
        "kind": row.kind, "title": row.title, "titles": summary.get("titles") or {}, "status": row.status,
        "magnitude": row.magnitude, "alert_level": row.alert_level, "severity": row.severity,
        "lat": row.lat, "lon": row.lon, "countries": row.countries or [], "link": summary.get("link"),
        "occurred_at": iso_utc(row.occurred_at), "ends_at": iso_utc(row.ends_at),
        "first_seen": iso_utc(row.first_seen), "updated_at": iso_utc(row.updated_at),
        "zone": _zone_json(row), "headcount": row.affected, "incident": _incident_json(row),
        "merged_into_id": row.merged_into_id, "duplicates": duplicates,
    }


def _query_error(field: str, message: str):
    return error_response(400, "invalid_page" if field in ("page", "per_page") else "invalid_query", message,
                          fields={field: message})


@bp.get("/hazard-events")
@api_role_required("viewer")
def list_hazard_events():
    """Newest first (by when the system first saw them), filtered by source, kind and status."""
    page = whole_number(request.args.get("page", "1"), 1, MAX_PAGE)
    per_page = whole_number(request.args.get("per_page", str(PER_PAGE)), 1, MAX_PER_PAGE)
    if page is None or per_page is None:
        return _query_error("page", _("page must be 1 or more and per_page between 1 and %(max)d.", max=MAX_PER_PAGE))
    where = []
    for name, allowed, column in (("source", HAZARD_SOURCES, Hazard.source), ("kind", KINDS, Hazard.kind),
                                  ("status", HAZARD_STATES, Hazard.status)):
        value = request.args.get(name)
        if value is None:
            continue
        if value not in allowed:
            return _query_error(name, _("%(name)s must be one of: %(values)s.", name=name, values=", ".join(allowed)))
        where.append(column == value)
    session = db_session()
    total = session.scalar(select(func.count()).select_from(Hazard).where(*where))
    rows = list(session.scalars(select(Hazard).where(*where).order_by(Hazard.first_seen.desc(), Hazard.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)))
    duplicates: dict[int, list[int]] = {row.id: [] for row in rows}
    if rows:
        for dup_id, primary_id in session.execute(select(Hazard.id, Hazard.merged_into_id).where(
                Hazard.merged_into_id.in_(list(duplicates))).order_by(Hazard.id)):
            duplicates[primary_id].append(dup_id)
    return jsonify({"page": page, "per_page": per_page, "total": total,
                    "events": [_event_json(row, duplicates[row.id]) for row in rows]})


# --------------------------------------------------------------------------- rules


def _rule_json(rule: TriggerRule) -> dict:
    return {
        "id": rule.id, "name": rule.name, "source": rule.source, "kinds": rule.kinds or [],
        "min_magnitude": rule.min_magnitude, "min_alert_level": rule.min_alert_level,
        "min_severity": rule.min_severity, "countries": rule.countries or [], "min_affected": rule.min_affected,
        "action": rule.action, "enabled": rule.enabled, "auto_send_allowed": rule.auto_send_allowed,
        "created_by_id": rule.created_by_id, "created_at": iso_utc(rule.created_at), "updated_at": iso_utc(rule.updated_at),
    }


def _invalid(err):
    message = translate(err)
    return error_response(422, "invalid", message, fields={err.field or "body": message})


def _rule_body() -> dict:
    """The JSON body, refusing `auto_send_allowed` from anyone but an administrator (the
    console does not even show them the box)."""
    data = json_body()
    user = acting_user()
    if "auto_send_allowed" in data and not user.has_role("admin"):
        raise trigger_rules.RuleError(trigger_rules.ADMIN_ONLY, field="auto_send_allowed")
    unknown = sorted(set(data) - set(trigger_rules.FIELDS))
    if unknown:
        raise trigger_rules.RuleError(trigger_rules.UNKNOWN_FIELD, field=unknown[0][:50], name=unknown[0][:50])
    return data


@bp.get("/trigger-rules")
@api_role_required("viewer")
def list_trigger_rules():
    rules = db_session().scalars(select(TriggerRule).order_by(TriggerRule.id))
    return jsonify({"rules": [_rule_json(r) for r in rules]})


@bp.post("/trigger-rules")
@api_role_required("coordinator")
def create_trigger_rule():
    try:
        rule = trigger_rules.create_rule(_rule_body())
    except trigger_rules.RuleError as err:
        db_session().rollback()
        return _invalid(err)
    response = jsonify(_rule_json(rule))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_trigger_rule", rule_id=rule.id)
    return response


def _rule_or_404(rule_id: int):
    rule = trigger_rules.get_rule(rule_id)
    if rule is None:
        return None, error_response(404, "not_found", _("Not found."))
    return rule, None


@bp.get("/trigger-rules/<int:rule_id>")
@api_role_required("viewer")
def get_trigger_rule(rule_id: int):
    rule, missing = _rule_or_404(rule_id)
    return missing or jsonify(_rule_json(rule))


@bp.patch("/trigger-rules/<int:rule_id>")
@api_role_required("coordinator")
def patch_trigger_rule(rule_id: int):
    """Change any of the rule's fields, all or nothing. A change by anyone but an
    administrator withdraws `auto_send_allowed` (see `services.trigger_rules`)."""
    rule, missing = _rule_or_404(rule_id)
    if missing:
        return missing
    try:
        data = _rule_body()
        if not data:
            raise trigger_rules.RuleError(trigger_rules.NOTHING_TO_CHANGE)
        trigger_rules.update_rule(rule, data, partial=True)
    except trigger_rules.RuleError as err:
        db_session().rollback()
        return _invalid(err)
    return jsonify(_rule_json(rule))


# --------------------------------------------------------------------------- feeds


def _feed_json(feed: Feed) -> dict:
    state = feed_service.health(feed)
    return {"id": feed.id, "name": feed.name, "kind": feed.kind, "url": feed.url, "enabled": feed.enabled,
            "health": state, "healthy": state in ("ok", "not_polled"),
            "consecutive_failures": feed.consecutive_failures or 0, "last_error": feed.last_error,
            "last_polled_at": iso_utc(feed.last_polled_at), "last_ok_at": iso_utc(feed.last_ok_at),
            "created_at": iso_utc(feed.created_at)}


@bp.get("/feeds")
@api_role_required("viewer")
def list_feeds():
    return jsonify({"unhealthy_after": feed_service.UNHEALTHY_AFTER,
                    "feeds": [_feed_json(f) for f in feed_service.feeds()]})


@bp.post("/feeds")
@api_role_required("admin")
def add_feed():
    data = json_body()
    try:
        feed = feed_service.add_feed(data.get("name"), data.get("kind"), data.get("url"))
    except feed_service.FeedRefused as err:
        db_session().rollback()
        return _invalid(err)
    response = jsonify(_feed_json(feed))
    response.status_code = 201
    return response
