"""Email through SendGrid's v3 Mail Send API with the official `sendgrid` SDK.

One request carries up to 1,000 personalizations, each with its own recipient, its
substitutions and `custom_args.delivery_id` (so the Event Webhook tells us which delivery
an event is about). We build the request JSON ourselves rather than with the `Mail`
helper, whose `add_personalization` reverses the order and whose template data is wiped
when set too early (sendgrid-python#1037).

Several batches (languages, zones) share one request (`send_batches`): SendGrid's
`sections` hold each batch's text and HTML once, the content is only the tags
`-body_text-` / `-body_html-`, and each personalization substitutes them with its own
batch's section tags (`-body_text-` → `-body_text_fr-`) and carries its own `subject`.
SendGrid expands the section, then fills the recipient's substitutions inside it, so each
recipient reads exactly what the outbox would store for them. That keeps an alert to
100,000 travellers of mixed languages at 100 requests (1,000 personalizations each).

SendGrid rejects a request in which an address appears twice, so recipients sharing an
address (a family's one mailbox) go into separate requests. Outcome per request:
2xx → all sent; 429 and 5xx or a network failure → all retryable (with SendGrid's
Retry-After); other 4xx → all failed with SendGrid's error text. The SDK never retries
by itself. An optional limiter caps requests per second.

Each request carries its send's name (`custom_args.send_id`, EmailBatch.send_id), written in
our rows before the call (it is made of the claim's time). If a worker dies during the call,
`find_sent` asks the Email Activity API (`GET /v3/messages`, query on that custom arg) which
recipients SendGrid took. The API needs SendGrid's paid "additional email activity history"
add-on and an API key allowed to read it; without them (403, 404) SendGrid cannot tell us,
and the recipients of the request in flight get the email again. The activity feed may
also take a little while to show a message just accepted.
"""
from __future__ import annotations

import json
import logging
import socket
import urllib.error
from datetime import datetime

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from ..errors import ProviderUnsure
from ..retry import parse_retry_after
from .base import EmailBatch, EmailRecipient, SendResult, placeholder

log = logging.getLogger(__name__)

MAX_PERSONALIZATIONS = 1000
# The tags of a mixed-language request's content; each recipient's substitutions point them
# at its batch's sections. Recipient substitutions must not use these names.
BODY_TEXT, BODY_HTML = "body_text", "body_html"


def chunk_recipients(recipients: list[EmailRecipient], size: int = MAX_PERSONALIZATIONS) -> list[list[EmailRecipient]]:
    """Split into requests of at most `size`, no address twice in one request."""
    return _chunk(recipients, lambda r: r.to, size)


def _chunk(items: list, address, size: int) -> list[list]:
    chunks: list[list] = []
    seen: list[set[str]] = []
    for r in items:
        key = address(r).strip().lower()
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
        if batch.send_id:
            body["custom_args"] = {"send_id": batch.send_id}
        return body

    def mixed_request_body(self, entries: list[tuple[EmailBatch, EmailRecipient]]) -> dict:
        """The Mail Send JSON for recipients of several batches (languages, zones) in one
        request: each batch's text and HTML once in `sections`, and per personalization its
        subject and substitutions pointing `-body_text-` / `-body_html-` at its sections."""
        if len({bool(batch.html) for batch, _ in entries}) > 1:
            raise ValueError("batches with and without HTML cannot share a request")
        names = section_names([batch for batch, _ in entries])
        sections: dict[str, str] = {}
        for batch in _unique([batch for batch, _ in entries]):
            name = names[id(batch)]
            sections[placeholder(f"{BODY_TEXT}_{name}")] = batch.text
            if batch.html:
                sections[placeholder(f"{BODY_HTML}_{name}")] = batch.html
        has_html = any(batch.html for batch, _ in entries)
        content = [{"type": "text/plain", "value": placeholder(BODY_TEXT)}]
        if has_html:
            content.append({"type": "text/html", "value": placeholder(BODY_HTML)})
        personalizations = []
        for batch, r in entries:
            name = names[id(batch)]
            substitutions = {placeholder(k): str(v) for k, v in r.substitutions.items()}
            if {placeholder(BODY_TEXT), placeholder(BODY_HTML)} & set(substitutions):
                raise ValueError(f"substitutions may not use the reserved names {BODY_TEXT}, {BODY_HTML}")
            substitutions[placeholder(BODY_TEXT)] = placeholder(f"{BODY_TEXT}_{name}")
            if has_html:
                substitutions[placeholder(BODY_HTML)] = placeholder(f"{BODY_HTML}_{name}")
            personalizations.append({"to": [{"email": r.to}], "subject": batch.subject,
                                     "substitutions": substitutions,
                                     "custom_args": {"delivery_id": str(r.delivery_id)}})
        body = {
            "personalizations": personalizations,
            "from": self._sender(),
            "content": content,
            "sections": sections,
            "tracking_settings": {"click_tracking": {"enable": False, "enable_text": False}},
        }
        if self.sandbox:
            body["mail_settings"] = {"sandbox_mode": {"enable": True}}
        send_ids = {batch.send_id for batch, _ in entries if batch.send_id}
        if len(send_ids) == 1:
            body["custom_args"] = {"send_id": send_ids.pop()}
        return body

    def _sender(self) -> dict:
        sender = {"email": self.from_email}
        if self.from_name:
            sender["name"] = self.from_name
        return sender

    def send_batch(self, batch: EmailBatch) -> list[SendResult]:
        results: list[SendResult] = []
        for recipients in chunk_recipients(batch.recipients):
            results.extend(self._send(self.request_body(batch, recipients), recipients))
        return results

    def send_batches(self, batches: list[EmailBatch]) -> list[SendResult]:
        """Send several batches in as few requests as possible (mixed languages per request);
        one result per recipient, in the batches' order within each request."""
        results: list[SendResult] = []
        # Batches with HTML and batches without never share a request (one content shape each).
        entries = [(batch, r) for batch in batches if batch.html for r in batch.recipients]
        plain = [(batch, r) for batch in batches if not batch.html for r in batch.recipients]
        chunks = (_chunk(entries, lambda entry: entry[1].to, MAX_PERSONALIZATIONS)
                  + _chunk(plain, lambda entry: entry[1].to, MAX_PERSONALIZATIONS))
        for chunk in chunks:
            recipients = [r for _, r in chunk]
            if len(_unique([batch for batch, _ in chunk])) == 1:
                body = self.request_body(chunk[0][0], recipients)
            else:
                body = self.mixed_request_body(chunk)
            results.extend(self._send(body, recipients))
        return results

    def _send(self, body: dict, recipients: list[EmailRecipient]) -> list[SendResult]:
        def all_(ok, ids=None, error=None, retryable=False, wait=None):
            return [SendResult(r.delivery_id, ok, ids(r) if ids else None, error, retryable, wait)
                    for r in recipients]

        if self.limiter is not None:
            self.limiter.acquire()
        try:
            response = self.client.send(body)
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

    def find_sent(self, recipients: list[EmailRecipient], send_id: str,
                  since: datetime | None = None) -> dict[int, str] | None:
        """Which of `recipients` of the send `send_id` SendGrid accepted: {delivery id: msg_id},
        from the Email Activity API. None when the account cannot be asked (no add-on, a key
        without the scope); ProviderUnsure when SendGrid does not answer now."""
        query = f"unique_args['send_id']=\"{send_id}\""
        try:
            response = self.client.client.messages.get(query_params={"query": query, "limit": 1000})
            listed = _activity(response.body)
        except HTTPError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise ProviderUnsure(f"SendGrid {exc.status_code}: {_error_text(exc.body)}") from exc
            log.warning("SendGrid's Email Activity API is not available (%s): cannot tell what was sent",
                        exc.status_code)
            return None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError, ValueError) as exc:
            raise ProviderUnsure(f"SendGrid unreachable: {exc}") from exc
        taken: dict[str, list[str]] = {}
        for message in listed:
            taken.setdefault(str(message.get("to_email", "")).strip().lower(), []).append(str(message.get("msg_id")))
        found: dict[int, str] = {}
        for r in recipients:
            ids = taken.get(r.to.strip().lower())
            if ids:
                found[r.delivery_id] = ids.pop(0)
        return found


def _activity(body) -> list[dict]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    data = json.loads(body or "{}")
    return [m for m in data.get("messages") or [] if isinstance(m, dict)]


def _unique(batches: list[EmailBatch]) -> list[EmailBatch]:
    seen: dict[int, EmailBatch] = {}
    for batch in batches:
        seen.setdefault(id(batch), batch)
    return list(seen.values())


def section_names(batches: list[EmailBatch]) -> dict[int, str]:
    """A section name per batch (by id): its language, numbered when a language has several
    batches (zones): `fr`, `en`, `en_2`."""
    names: dict[int, str] = {}
    per_language: dict[str, int] = {}
    for batch in _unique(batches):
        language = "".join(c for c in (batch.language or "xx").lower() if c.isalnum()) or "xx"
        per_language[language] = per_language.get(language, 0) + 1
        count = per_language[language]
        names[id(batch)] = language if count == 1 else f"{language}_{count}"
    return names

