"""The one place that says an alert is waiting for a second person's approval.

Every path that leaves an alert as a draft because of its size calls `approval_requested`,
so whatever must happen then (the audit entry now; telling the approvers on call) is wired
once, here."""
from __future__ import annotations

from emergency.core import audit
from emergency.core.models import Alert


def approval_requested(alert: Alert, size: int) -> None:
    """Record that `alert` (reaching `size` people) waits for approval. Adds to the session;
    the caller commits."""
    action = "followup.round_needs_approval" if alert.followup_of is not None else "alert.approval_requested"
    audit.record(action, "alert", alert.id, incident_id=alert.incident_id, kind=alert.kind,
                 round=alert.round, size=size)
