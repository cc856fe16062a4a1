"""Errors raised by the notify package, carrying an untranslated message.

notify has no Flask, so it cannot translate. It marks user-facing text with the no-op
`common.i18n.N_` (so `pybabel extract -k N_` finds it) and raises `NotifyError` with the English
template and its parameters; the web layer shows `gettext(err.message) % err.params`.
"""
from __future__ import annotations

from typing import Any


class NotifyError(ValueError):
    """A problem a person must fix; `.message` is a %(name)s template, `.params` its values."""

    def __init__(self, message: str, **params: Any):
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


class RetryLater(Exception):
    """Some messages of a batch hit a temporary provider failure and were left pending.

    The job system should run the same job again later (the application maps this to
    RQ's Retry); the rows already sent are not sent again because they are no longer
    pending.
    """

    def __init__(self, pending: int, reason: str | None = None, retry_after: float | None = None):
        self.pending = pending
        self.reason = reason
        self.retry_after = retry_after  # the longest Retry-After a provider asked for, if any
        super().__init__(f"{pending} message(s) left pending for retry: {reason or 'temporary failure'}")


class ProviderUnsure(Exception):
    """The provider could not say now whether it accepted a message (429, 5xx, no answer):
    ask again later rather than send it again blindly."""
