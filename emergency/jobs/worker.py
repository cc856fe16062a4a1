"""The RQ workers `emergency worker` runs: RQ's own, beating faster and watching each other.

- `job_monitoring_interval` = HEARTBEAT_SECONDS (10 s, RQ's default is 30): a running job's
  heartbeat, which is how every other worker tells a live job from a dead one
  (emergency.jobs.recovery).
- A watchdog thread in the worker process runs `recovery.recover()` every HEARTBEAT_SECONDS
  (a dead worker's jobs go back to RQ for their retry; a dead scheduler's lock is freed) and,
  when no scheduler process of this worker runs, tries to take the scheduler lock, which RQ
  3.0 would try only every ten minutes.
- The simple (non-forking) worker runs jobs in its own process, where RQ sends no heartbeat
  until the job ends: a thread sends them, so a long job is not taken for a dead one.
"""
from __future__ import annotations

import logging
import threading

from rq import SimpleWorker, Worker
from rq.worker import WorkerStatus

from emergency.jobs.recovery import HEARTBEAT_SECONDS, recover

log = logging.getLogger(__name__)


class _Watching:
    """Mixin: the watchdog thread, started with the worker's main loop."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_SECONDS)
        super().__init__(*args, **kwargs)
        self._watchdog_stop = threading.Event()

    def work(self, *args, **kwargs):
        watchdog = threading.Thread(target=self._watch, name="rq-watchdog", daemon=True)
        watchdog.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self._watchdog_stop.set()

    def _watch(self) -> None:
        while not self._watchdog_stop.wait(HEARTBEAT_SECONDS):
            try:
                self.watch_once()
            except Exception:  # noqa: BLE001 - Redis away for a moment: next round
                log.exception("worker watchdog round failed")

    def watch_once(self) -> dict:
        """One round: recover what dead workers left, then take the scheduler if it is free."""
        outcome = recover(self.connection)
        scheduler = getattr(self, "scheduler", None)
        if scheduler is not None and not self._stop_requested:
            process = scheduler._process
            if process is None or not process.is_alive():
                # RQ's own call (its maintenance does the same every ten minutes): takes the
                # locks that are free, and starts the scheduler process if it got any.
                scheduler.acquire_locks(auto_start=True)
        return outcome


class EmergencyWorker(_Watching, Worker):
    """RQ's forking worker: a work horse per job."""


class EmergencySimpleWorker(_Watching, SimpleWorker):
    """RQ's simple worker (jobs in the worker process), with heartbeats while a job runs."""

    def execute_job(self, job, queue):
        execution = self.prepare_execution(job)
        done = threading.Event()

        def beat():
            while not done.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except Exception:  # noqa: BLE001 - a missed beat; the next one may pass
                    log.warning("heartbeat of job %s failed", job.id, exc_info=True)

        beating = threading.Thread(target=beat, name="rq-heartbeat", daemon=True)
        beating.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beating.join()
        self.set_state(WorkerStatus.IDLE)
