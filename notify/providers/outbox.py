"""The outbox: the embedded default provider, storing messages instead of sending them.

With no provider keys set, alerts still go through the whole delivery path and land in
the `outbox_messages` table, where the console shows them exactly as a recipient would
have read them (substitutions applied, one row per recipient).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from ..models import OutboxMessage
from .base import EmailBatch, SendResult, SmsMessage, apply_substitutions


@contextmanager
def _session(factory: Callable[[], Session]) -> Iterator[Session]:
    # A scoped_session hands back the caller's own thread session: use it, do not close it.
    if isinstance(factory, scoped_session):
        yield factory()
        return
    with factory() as session:
        yield session


def _results(rows: list[OutboxMessage]) -> list[SendResult]:
    return [SendResult(r.delivery_id, True, f"outbox-{r.id}") for r in rows]


def _stored(factory: Callable[[], Session], channel: str, delivery_ids: list[int]) -> dict[int, str]:
    """{delivery id: message id} of the messages the outbox already holds for these deliveries:
    the outbox is its own provider's record, so it always knows what it took."""
    with _session(factory) as session:
        return {delivery_id: f"outbox-{row_id}" for row_id, delivery_id in session.execute(
            select(OutboxMessage.id, OutboxMessage.delivery_id).where(
                OutboxMessage.channel == channel, OutboxMessage.delivery_id.in_(delivery_ids)))}


class OutboxEmail:
    name = "outbox"

    def __init__(self, session_factory: Callable[[], Session]):
        self.session_factory = session_factory

    def send_batch(self, batch: EmailBatch) -> list[SendResult]:
        with _session(self.session_factory) as session:
            rows = [
                OutboxMessage(
                    channel="email",
                    to=r.to,
                    subject=apply_substitutions(batch.subject, r.substitutions),
                    body=apply_substitutions(batch.text, r.substitutions),
                    html=apply_substitutions(batch.html, r.substitutions),
                    delivery_id=r.delivery_id,
                )
                for r in batch.recipients
            ]
            session.add_all(rows)
            session.commit()
            return _results(rows)

    def send_batches(self, batches: list[EmailBatch]) -> list[SendResult]:
        """Several batches (languages, zones) at once, as SendGrid takes them in one request;
        each recipient's message is its own batch's text, as SendGrid's sections render it."""
        results: list[SendResult] = []
        for batch in batches:
            results.extend(self.send_batch(batch))
        return results

    def find_sent(self, recipients, send_id=None, since=None) -> dict[int, str]:
        return _stored(self.session_factory, "email", [r.delivery_id for r in recipients])


class OutboxSms:
    name = "outbox"

    def __init__(self, session_factory: Callable[[], Session]):
        self.session_factory = session_factory

    def send(self, message: SmsMessage) -> SendResult:
        with _session(self.session_factory) as session:
            row = OutboxMessage(channel="sms", to=message.to, body=message.body,
                                delivery_id=message.delivery_id)
            session.add(row)
            session.commit()
            return _results([row])[0]

    def find_sent(self, messages, since=None, exclude=frozenset()) -> dict[int, str]:
        return _stored(self.session_factory, "sms", [m.delivery_id for m in messages])
