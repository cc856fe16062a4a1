"""The one place the follow-up schedule says a round waits for a second person's approval.

It is `alerts.request_approval` (audited, committed, the on-call approvers told), imported
when called: `alerts` imports the follow-up modules that call this."""
from __future__ import annotations

from emergency.core.models import Alert


def approval_requested(alert: Alert, size: int) -> None:
    """`alert` (a round reaching `size` people) waits for approval: ask for it. Commits."""
    from emergency.services.alerts import request_approval

    request_approval(alert, size)
