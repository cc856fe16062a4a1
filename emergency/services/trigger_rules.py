"""Trigger rules as coordinators write them: validated, stored and audited.

Coordinators create and edit rules; only an administrator sets `auto_send_allowed`, the flag
without which a "send" rule only drafts. A rule an administrator allowed to send loses the
flag when anyone else changes it, so an approved rule cannot be widened after the approval.
"""
from __future__ import annotations

from typing import Mapping

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.auth import acting_user
from emergency.core.database import db_session
from emergency.core.models import HAZARD_SOURCES, RULE_ACTIONS, TriggerRule
from emergency.services.errors import ServiceError
from geo.countries import is_country
from hazards.events import ALERT_LEVELS, CAP_SEVERITIES, KINDS

FIELDS = ("name", "source", "kinds", "min_magnitude", "min_alert_level", "min_severity", "countries",
          "min_affected", "action", "enabled", "auto_send_allowed")
SEVERITIES = CAP_SEVERITIES[1:]  # "Unknown" is not a threshold
ADMIN_ONLY = N_("Only an administrator can allow a rule to send alerts by itself.")
UNKNOWN_FIELD = N_("Unknown field: %(name)s.")
NOTHING_TO_CHANGE = N_("Give at least one field of the rule to change.")


class RuleError(ServiceError):
    """A refused rule (see `ServiceError`)."""


def _list(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise RuleError(N_("Give a list of values."), field="kinds")
    return [v.strip() for v in value if v.strip()]


def _number(value, field: str, integer: bool = False):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RuleError(N_("This must be a number."), field=field)
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise RuleError(N_("This must be a number."), field=field) from None
    if number != number or number < 0 or number > (10_000_000 if integer else 10):
        raise RuleError(N_("This number is out of range."), field=field)
    return number


def clean(data: Mapping, partial: bool = False) -> dict:
    """The rule's fields from a form or JSON, checked; RuleError names the first bad field."""
    out = {}

    def given(name):
        return name in data or not partial

    if given("name"):
        name = (data.get("name") or "").strip() if isinstance(data.get("name", ""), str) else None
        if not name:
            raise RuleError(N_("A name is required."), field="name")
        if len(name) > 200:
            raise RuleError(N_("The name is too long (200 characters at most)."), field="name")
        out["name"] = name
    if given("source"):
        source = data.get("source") or "any"
        if source not in ("any", *HAZARD_SOURCES):
            raise RuleError(N_("Choose a source: any, USGS, GDACS or CAP."), field="source")
        out["source"] = source
    if given("kinds"):
        try:
            kinds = _list(data.get("kinds"))
        except RuleError:
            raise RuleError(N_("Unknown kind of event."), field="kinds") from None
        if any(k not in KINDS for k in kinds):
            raise RuleError(N_("Unknown kind of event."), field="kinds")
        out["kinds"] = sorted(set(kinds))
    if given("min_magnitude"):
        out["min_magnitude"] = _number(data.get("min_magnitude"), "min_magnitude")
    if given("min_alert_level"):
        level = (data.get("min_alert_level") or None)
        if level is not None and level not in ALERT_LEVELS:
            raise RuleError(N_("Choose an alert level: green, yellow, orange or red."), field="min_alert_level")
        out["min_alert_level"] = level
    if given("min_severity"):
        severity = data.get("min_severity") or None
        if severity is not None and severity not in SEVERITIES:
            raise RuleError(N_("Choose a CAP severity: Minor, Moderate, Severe or Extreme."), field="min_severity")
        out["min_severity"] = severity
    if given("countries"):
        try:
            codes = [c.upper() for c in _list(data.get("countries"))]
        except RuleError:
            codes = ["?"]
        bad = [c for c in codes if not is_country(c)]
        if bad:
            raise RuleError(N_("Unknown country code: %(code)s."), field="countries", code=bad[0][:10])
        out["countries"] = sorted(set(codes))
    if given("min_affected"):
        value = _number(data.get("min_affected"), "min_affected", integer=True)
        out["min_affected"] = 1 if value is None else value
    if given("action"):
        action = data.get("action") or "notify"
        if action not in RULE_ACTIONS:
            raise RuleError(N_("Choose an action: notify, draft or send."), field="action")
        out["action"] = action
    for flag in ("enabled", "auto_send_allowed"):
        if flag in data:
            value = data.get(flag)
            if isinstance(value, str):
                value = value.lower() in ("1", "true", "on", "yes", "y")
            if not isinstance(value, bool):
                raise RuleError(N_("This must be true or false."), field=flag)
            out[flag] = value
    return out


def _check_auto_send(values: dict) -> None:
    user = acting_user()
    if values.get("auto_send_allowed") and (user is None or not user.has_role("admin")):
        raise RuleError(ADMIN_ONLY, field="auto_send_allowed")


def create_rule(data: Mapping) -> TriggerRule:
    values = clean(data)
    values.setdefault("enabled", True)
    _check_auto_send(values)
    user = acting_user()
    rule = TriggerRule(created_by_id=user.id if user else None, **values)
    session = db_session()
    session.add(rule)
    session.flush()
    audit.record("trigger.rule_created", "trigger_rule", rule.id, rule_action=rule.action, source=rule.source,
                 auto_send_allowed=rule.auto_send_allowed)
    session.commit()
    return rule


def update_rule(rule: TriggerRule, data: Mapping, partial: bool = True) -> TriggerRule:
    values = clean(data, partial=partial)
    _check_auto_send(values)
    user = acting_user()
    is_admin = user is not None and user.has_role("admin")
    changed = {k: v for k, v in values.items() if getattr(rule, k) != v}
    if not changed:
        return rule
    for key, value in changed.items():
        setattr(rule, key, value)
    if rule.auto_send_allowed and not is_admin and set(changed) - {"enabled"}:
        rule.auto_send_allowed = False  # changed since an administrator allowed it
        changed["auto_send_allowed"] = False
    rule.updated_at = utcnow()
    audit.record("trigger.rule_changed", "trigger_rule", rule.id, fields=sorted(changed))
    db_session().commit()
    return rule


def get_rule(rule_id) -> TriggerRule | None:
    if not isinstance(rule_id, int) or isinstance(rule_id, bool):
        return None
    return db_session().get(TriggerRule, rule_id)
