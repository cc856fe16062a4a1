"""Periodic jobs that `emergency cron` schedules (see `emergency.cli.operations`)."""
from __future__ import annotations

from emergency.jobs.runner import job
from emergency.services import privacy


@job
def purge_old_records() -> int:
    """Privacy by default: delete the records due for purge; returns how many travellers went."""
    return privacy.purge_old_records().travellers
