"""Email through SendGrid's v3 Mail Send API with the official `sendgrid` SDK.

One request carries up to 1,000 personalizations, each with its own recipient, its
substitutions and `custom_args.delivery_id` (so the Event Webhook tells us which delivery
an event is about). We build the request JSON ourselves rather than with the `Mail`
helper, whose `add_personalization` reverses the order and whose template data is wiped
when set too early (sendgrid-python#1037).

SendGrid rejects a request in which an address appears twice, so recipients sharing an
address (a family's one mailbox) go into separate requests. Outcome per request:
2xx → all sent; 429 and 5xx or a network failure → all retryable (with SendGrid's
Retry-After); other 4xx → all failed with SendGrid's error text. The SDK never retries
by itself. An optional limiter caps requests per second.
"""
from __future__ import annotations

import logging
import socket
import urllib.error

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from ..retry import parse_retry_after
from .base import EmailBatch, EmailRecipient, SendResult, placeholder

log = logging.getLogger(__name__)

MAX_PERSONALIZATIONS = 1000


def chunk_recipients(recipients: list[EmailRecipient], size: int = MAX_PERSONALIZATIONS) -> list[list[EmailRecipient]]:
    """Split into requests of at most `size`, no address twice in one request."""
    chunks: list[list[EmailRecipient]] = []
    seen: list[set[str]] = []
    for r in recipients:
        key = r.to.strip().lower()
        for chunk, addresses in zip(chunks, seen):
            if len(chunk) < size and key not in addresses:
                chunk.append(r)
                addresses.add(key)
                break
        else:
            chunks.append([r])
            seen.append({key})
    return chunks


def _error_text(body) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return str(body or "")[:1000]


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, api_key: str, host: str = "https://api.sendgrid.com",
                 from_email: str = "alerts@consular.example", sandbox: bool = False,
                 from_name: str | None = None, timeout: float = 30, limiter=None):
        self.client = SendGridAPIClient(api_key, host=host.rstrip("/"))
        self.client.client.timeout = timeout
        self.from_email = from_email
        self.from_name = from_name
        self.sandbox = sandbox
        self.limiter = limiter  # notify.throttle.RateLimiter or None: requests per second

    def request_body(self, batch: EmailBatch, recipients: list[EmailRecipient]) -> dict:
        """The Mail Send JSON for `recipients` of `batch`."""
        sender = {"email": self.from_email}
        if self.from_name:
            sender["name"] = self.from_name
        content = [{"type": "text/plain", "value": batch.text}]
        if batch.html:
            content.append({"type": "text/html", "value": batch.html})
        personalizations = []
        for r in recipients:
            p: dict = {"to": [{"email": r.to}], "custom_args": {"delivery_id": str(r.delivery_id)}}
            if r.substitutions:
                p["substitutions"] = {placeholder(k): str(v) for k, v in r.substitutions.items()}
            personalizations.append(p)
        body = {
            "personalizations": personalizations,
            "from": sender,
            "subject": batch.subject,
            "content": content,
            # Safety links carry personal tokens: keep them out of a tracking redirect.
            "tracking_settings": {"click_tracking": {"enable": False, "enable_text": False}},
        }
        if self.sandbox:
            body["mail_settings"] = {"sandbox_mode": {"enable": True}}
        return body

    def send_batch(self, batch: EmailBatch) -> list[SendResult]:
        results: list[SendResult] = []
        for recipients in chunk_recipients(batch.recipients):
            results.extend(self._send(batch, recipients))
        return results

    def _send(self, batch: EmailBatch, recipients: list[EmailRecipient]) -> list[SendResult]:
        def all_(ok, ids=None, error=None, retryable=False, wait=None):
            return [SendResult(r.delivery_id, ok, ids(r) if ids else None, error, retryable, wait)
                    for r in recipients]

        if self.limiter is not None:
            self.limiter.acquire()
        try:
            response = self.client.send(self.request_body(batch, recipients))
        except HTTPError as exc:
            status = exc.status_code
            error = f"SendGrid {status}: {_error_text(exc.body)}"
            retryable = status == 429 or status >= 500
            log.warning("SendGrid refused %d message(s): %s", len(recipients), error)
            wait = parse_retry_after((exc.headers or {}).get("Retry-After")) if retryable else None
            return all_(False, error=error, retryable=retryable, wait=wait)
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
            log.warning("SendGrid unreachable: %s", exc)
            return all_(False, error=f"SendGrid unreachable: {exc}", retryable=True)
        message_id = response.headers.get("X-Message-Id") or "sendgrid"
        return all_(True, ids=lambda r: f"{message_id}.{r.delivery_id}")
