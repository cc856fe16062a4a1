"""The provider interface: what goes in (batches, messages) and what comes out (results).

Email is sent in batches because SendGrid takes up to 1,000 personalizations per request:
the subject, text and HTML are the same for the whole batch and hold placeholders that are
filled per recipient. The placeholder syntax is SendGrid's legacy substitution tag, the
name between hyphens: `-name-`, `-safe_url-`. Substitution keys may be written bare
(`"safe_url"`) or with the hyphens (`"-safe_url-"`); both mean the same tag. Values are
put in verbatim in the text and the HTML alike (as SendGrid does), so they must be safe in
both: URLs with URL-safe tokens, names without markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


def placeholder(name: str) -> str:
    """The tag written in a template for substitution `name`: `-name-`."""
    name = name.strip("-")
    return f"-{name}-"


def apply_substitutions(text: str | None, substitutions: dict[str, str]) -> str | None:
    """`text` with every `-name-` tag replaced by its value (longest names first)."""
    if text is None or not substitutions:
        return text
    values = {placeholder(k): str(v) for k, v in substitutions.items()}
    pattern = re.compile("|".join(re.escape(t) for t in sorted(values, key=len, reverse=True)))
    # One pass, so a value that happens to contain a tag is not substituted again.
    return pattern.sub(lambda m: values[m.group(0)], text)


@dataclass
class EmailRecipient:
    delivery_id: int
    to: str
    substitutions: dict[str, str] = field(default_factory=dict)


@dataclass
class EmailBatch:
    language: str
    subject: str
    text: str
    html: str | None
    recipients: list[EmailRecipient]
    # Our name for the send, given to the provider with the message (SendGrid: a custom arg)
    # before the call, so that after a crash the provider can be asked what it accepted.
    send_id: str | None = None


@dataclass
class SmsMessage:
    delivery_id: int
    to: str
    body: str


@dataclass
class SendResult:
    """The outcome for one delivery. `retryable` failures are tried again later."""

    delivery_id: int
    ok: bool
    provider_message_id: str | None = None
    error: str | None = None
    retryable: bool = False
    # Seconds the provider asked us to wait (HTTP Retry-After on a 429/503), if it said.
    retry_after: float | None = None


@runtime_checkable
class EmailProvider(Protocol):
    name: str

    def send_batch(self, batch: EmailBatch) -> list[SendResult]:
        """Send to every recipient; one result per recipient, never raises for provider errors.

        A provider may also offer `send_batches(batches)`: several batches (languages, zones)
        in as few requests as it can, with the same result contract; `notify.delivery` uses
        it when present (SendGrid's sections put mixed languages in one request).

        A provider may also offer `find_sent(recipients, send_id, since)`: which of these
        recipients of the send `send_id` (made at `since` or later) it accepted, as
        {delivery id: provider message id}; None if it cannot tell; raises
        notify.errors.ProviderUnsure if it cannot tell now but may later."""
        ...


@runtime_checkable
class SmsProvider(Protocol):
    name: str

    def send(self, message: SmsMessage) -> SendResult:
        """Send one SMS; never raises for provider errors.

        A provider may also offer `find_sent(messages, since, exclude)`: which of these
        messages it accepted at `since` or later, as {delivery id: provider message id},
        never naming a message id of `exclude` (already ours); None if it cannot tell;
        raises notify.errors.ProviderUnsure if it cannot tell now but may later."""
        ...
