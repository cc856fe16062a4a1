"""Background jobs: RQ on Redis in production, a thread pool in the embedded default.

Jobs take ids, reload from the database and are safe to run twice. Callers commit first,
then enqueue (Redash's rule), with a deterministic job id so a double click or a retried
request cannot queue the same work twice. The same job functions run in both modes.
"""
from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import wraps
from typing import Callable, Sequence

from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

QUEUES = ("alerts", "default")  # alerts first: an emergency never waits behind routine mail
RETRY_INTERVALS = (5, 15, 60, 180, 600)  # seconds between attempts, in both RQ and thread modes
_worker_app: Flask | None = None


def job(func: Callable) -> Callable:
    """Run `func` inside an app context: the caller's, or else that of the application this
    process built last (an RQ worker started by `emergency worker` builds it before its first
    job; a forked work horse inherits it)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return func(*args, **kwargs)
        if _worker_app is None:
            raise RuntimeError("No application in this process: start workers with `emergency worker`.")
        with _worker_app.app_context():
            return func(*args, **kwargs)

    return wrapper


class ThreadRunner:
    """In-process runner: jobs run off the request thread, one unique id at a time.

    A failed job is tried again after RETRY_INTERVALS, as RQ's Retry does in RQ mode. The
    wait is a timer, never a sleep in a pool thread, so a failing job does not hold one of
    the few workers that every other job needs for up to ten minutes."""

    def __init__(self, app: Flask, workers: int = 2, retry_intervals: Sequence[float] = RETRY_INTERVALS):
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self.retry_intervals = tuple(retry_intervals)
        self.lock = threading.Lock()
        self.pending: dict[str, Future] = {}
        self.timers: dict[str, threading.Timer] = {}  # scheduled starts: delayed jobs and retries
        self.stopped = threading.Event()

    def enqueue(self, func: Callable, *args, job_id: str, queue: str = "default") -> bool:
        with self.lock:
            if job_id in self.timers or (job_id in self.pending and not self.pending[job_id].done()):
                return False
            self.pending[job_id] = self.pool.submit(self._run, func, args, job_id, 0)
            return True

    def enqueue_in(self, delay: float, func: Callable, *args, job_id: str, queue: str = "default") -> bool:
        with self.lock:
            if job_id in self.pending or job_id in self.timers:
                return False
            self._schedule(delay, func, args, job_id, 0)
            return True

    def every(self, interval: float, func: Callable, name: str, queue: str = "default") -> threading.Thread:
        """Queue `func()` every `interval` seconds until `stop()` (what `emergency cron` does
        in RQ mode). Each run is an ordinary job, id `name-<period>`; the waiting is not a
        timer of `timers`, so `wait` does not wait for the next period."""
        def loop() -> None:
            while not self.stopped.wait(interval):
                self.enqueue(func, job_id=f"{name}-{int(time.time() // interval)}", queue=queue)

        thread = threading.Thread(target=loop, name=f"every-{name}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopped.set()

    def _schedule(self, delay: float, func: Callable, args: tuple, job_id: str, attempt: int) -> None:
        """Start attempt `attempt` of the job in `delay` seconds; the caller holds the lock."""
        timer = threading.Timer(max(0.0, delay), self._start, args=(func, args, job_id, attempt))
        timer.daemon = True
        self.timers[job_id] = timer
        timer.start()

    def _start(self, func: Callable, args: tuple, job_id: str, attempt: int) -> None:
        # Under the lock, the timer leaves `timers` as its future enters `pending`, so
        # `wait` never sees the job in neither.
        with self.lock:
            self.timers.pop(job_id, None)
            self.pending[job_id] = self.pool.submit(self._run, func, args, job_id, attempt)

    def _run(self, func: Callable, args: tuple, job_id: str, attempt: int):
        with self.app.app_context():
            try:
                return func(*args)
            except Exception as exc:  # logged; the job's own rows record what happened
                if attempt < len(self.retry_intervals):
                    delay = self.retry_intervals[attempt]
                    log.warning("job %s failed (%s); retrying in %ss", job_id, exc, delay)
                    with self.lock:
                        self._schedule(delay, func, args, job_id, attempt + 1)
                    return None
                log.exception("job %s failed for good", job_id)
                raise

    def wait(self, timeout: float = 60) -> None:
        """Wait until no job is running or scheduled, retries included (jobs may enqueue
        further jobs); TimeoutError if work remains after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                futures = [f for f in self.pending.values() if not f.done()]
                timers = list(self.timers.values())
            if not futures and not timers:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(futures)} job(s) running and {len(timers)} scheduled after {timeout}s")
            if futures:
                concurrent.futures.wait(futures, timeout=remaining)
            else:
                timers[0].join(remaining)


class SyncRunner:
    """Runs each job at once in the caller's thread (CLI tools and some tests): once, with
    no retry, so a failure raises to the caller; a delayed job runs at once too, because
    the caller wants the outcome now and a sleep would only stall it."""

    def __init__(self, app: Flask):
        self.app = app

    def enqueue(self, func: Callable, *args, job_id: str, queue: str = "default") -> bool:
        func(*args)
        return True

    def enqueue_in(self, delay: float, func: Callable, *args, job_id: str, queue: str = "default") -> bool:
        func(*args)
        return True

    def wait(self, timeout: float = 60) -> None:
        return None


class RQRunner:
    """Enqueues on Redis with RQ; `emergency worker` processes run the jobs, each for at
    most JOB_TIMEOUT seconds (the delivery claim's staleness is set above it)."""

    def __init__(self, app: Flask):
        from redis import Redis

        self.app = app
        self.redis = Redis.from_url(app.config["REDIS_URL"])

    def queue(self, name: str):
        from rq import Queue

        return Queue(name, connection=self.redis)

    def enqueue(self, func: Callable, *args, job_id: str, queue: str = "default") -> bool:
        from rq import Retry
        from rq.exceptions import DuplicateJobError

        try:
            self.queue(queue).enqueue(
                func, *args, job_id=job_id, unique=True,
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                job_timeout=self.app.config["JOB_TIMEOUT"], result_ttl=3600,
            )
            return True
        except DuplicateJobError:
            return False

    def enqueue_in(self, delay: float, func: Callable, *args, job_id: str, queue: str = "default") -> bool:
        """Schedule on RQ's scheduler (workers run with `with_scheduler=True`); a job id
        already known to Redis is not scheduled twice."""
        from datetime import timedelta

        from rq import Retry
        from rq.job import Job

        if Job.exists(job_id, connection=self.redis):
            return False
        self.queue(queue).enqueue_in(
            timedelta(seconds=max(0.0, delay)), func, *args, job_id=job_id,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=self.app.config["JOB_TIMEOUT"], result_ttl=3600,
        )
        return True

    def wait(self, timeout: float = 60) -> None:
        return None


def init_app(app: Flask) -> None:
    global _worker_app
    mode = app.config["JOBS_MODE"]
    runner = {"rq": RQRunner, "thread": ThreadRunner, "sync": SyncRunner}[mode](app)
    app.extensions["jobs"] = runner
    _worker_app = app


def enqueue(func: Callable, *args, job_id: str, queue: str = "default") -> bool:
    """Queue `func(*args)` under `job_id`; False if that job is already queued."""
    return current_app.extensions["jobs"].enqueue(func, *args, job_id=job_id, queue=queue)


def enqueue_in(delay: float, func: Callable, *args, job_id: str, queue: str = "default") -> bool:
    """Queue `func(*args)` to run in `delay` seconds under `job_id`; False if already scheduled.

    Used for provider retries (backoff with jitter, honouring Retry-After): RQ's
    scheduler in RQ mode, a timer in thread mode; sync mode runs it at once."""
    return current_app.extensions["jobs"].enqueue_in(delay, func, *args, job_id=job_id, queue=queue)


def wait_for_jobs(app: Flask | None = None, timeout: float = 60) -> None:
    (app or current_app).extensions["jobs"].wait(timeout)
