"""Local fake SendGrid and Twilio servers, for tests, benchmarks and demos without the internet.

The official SDKs are pointed at them (SENDGRID_API_BASE_URL, TWILIO_API_BASE_URL), so the
same code paths run as in production. Each fake checks authentication and the request
shape the real API insists on, records what it accepted, and answers like the real one:

- FakeSendGrid: POST /v3/mail/send, Bearer key, JSON → 202 with X-Message-Id; it renders
  each personalization as SendGrid does (per-personalization subject, legacy
  `substitutions`, then `sections`: a substitution whose value is a section tag brings in
  that section, inside which the recipient's substitutions are filled) and keeps the final
  messages in `rendered` for tests to read; then, like
  SendGrid's Event Webhook, POSTs a JSON array of events (processed, delivered, bounce,
  dropped) carrying our custom_args, signed with ECDSA P-256 (`public_key` is the base64
  DER key SENDGRID_WEBHOOK_PUBLIC_KEY expects).
- FakeSendGrid also answers the Email Activity API, `GET /v3/messages?query=...&limit=...`,
  for queries on `to_email="..."`, `msg_id="..."` and `unique_args['name']="..."` joined by
  AND, with SendGrid's message summaries; `email_activity=False` answers 403 as an account
  without the add-on does.
- FakeTwilio: POST /2010-04-01/Accounts/<sid>/Messages.json, basic auth, form body →
  201 JSON with a `sid` SM...; GET of the same path lists messages newest first, filtered
  by `To`, `From`, `DateSent`, `DateSent<` and `DateSent>` as Twilio does, in pages
  (PageSize); then POSTs signed status callbacks (sent, then delivered
  or undelivered) to each message's StatusCallback; `reply(from_number, body)` POSTs a
  signed inbound SMS to /webhooks/twilio/sms. Twilio's magic test numbers fail as they
  do with test credentials: +15005550001 invalid (21211), +15005550002 unroutable
  (21612), +15005550004 opted out (21610), +15005550009 not SMS-capable (21614).

Trouble on demand: `fail_next(n, status)` makes the next n calls fail; `failure_rate=0.3`
(with `seed`) fails that share of calls at random with 429 (+ Retry-After), 500, or a
timeout (the fake sleeps `timeout_seconds`, longer than the client waits, and records
nothing); `latency` slows every accepted call; `hold_after(n)` parks calls once n were
accepted until `release()`, so a test can kill a worker at a known point.

Callbacks: Twilio signs the URL it was given (PUBLIC_BASE_URL...), so the fakes sign that
URL and, like a TLS proxy, deliver to `callback_base` (e.g. http://127.0.0.1:5000) instead
of its scheme and host. They are queued; `auto_callbacks=True` sends them from a thread,
otherwise `flush_callbacks(transport)` sends them now (a test passes a transport that
calls the Flask test client). Servers listen on 127.0.0.1 in a background thread:

    with FakeSendGrid() as sendgrid:
        SendGridEmail("SG.test", host=sendgrid.base_url, ...)

Run both for a demo: `python -m devtools.fake_providers --callback-base http://127.0.0.1:5000`.
"""
from __future__ import annotations

import argparse
import base64
import json
import queue
import random
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

# transport(url, body, headers) -> (status, response text); the default posts over HTTP.
Transport = Callable[[str, bytes, dict], tuple]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)
    status: int = 0


@dataclass
class Reply:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Callback:
    """A webhook call the fake makes (or will make): `url` is the one signed."""

    url: str
    body: bytes
    headers: dict[str, str]
    kind: str  # status | events | inbound
    status: int | None = None  # our app's answer, once sent
    response: str | None = None


def http_transport(url: str, body: bytes, headers: dict, timeout: float = 30) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


def rebase(url: str, base: str | None) -> str:
    """`url` with its scheme and host replaced by those of `base` (what a TLS proxy does)."""
    if not base:
        return url
    target, original = urlsplit(base), urlsplit(url)
    path = target.path.rstrip("/") + original.path
    return urlunsplit((target.scheme, target.netloc, path, original.query, ""))


class FakeServer:
    """A tiny HTTP server in a thread; subclasses implement `handle(request) -> Reply`."""

    FAILURE_KINDS = (429, 500, "timeout")

    def __init__(self, *, failure_rate: float = 0.0, failures: Iterable = FAILURE_KINDS,
                 seed: int | None = None, retry_after: str | None = "1", timeout_seconds: float = 3.0,
                 latency: float = 0.0, callback_base: str | None = None, public_base: str | None = None,
                 auto_callbacks: bool = False, port: int = 0) -> None:
        if not 0 <= failure_rate <= 1:
            raise ValueError("failure_rate is a share of calls, between 0 and 1")
        self.requests: list[RecordedRequest] = []  # every request, accepted or not
        self.lock = threading.Lock()
        self._failures: list = []
        self.failure_rate = failure_rate
        self.failure_kinds = tuple(failures)
        self.rng = random.Random(seed)
        self.retry_after = retry_after
        self.timeout_seconds = timeout_seconds
        self.latency = latency
        self.injected: list = []  # the failures actually served, in order
        self.callback_base = callback_base.rstrip("/") if callback_base else None
        self.public_base = (public_base or callback_base or "").rstrip("/") or None
        self.auto_callbacks = auto_callbacks
        self.callbacks: list[Callback] = []  # every callback made or queued, in order
        self._pending: "queue.Queue[Callback]" = queue.Queue()
        self._dispatcher: threading.Thread | None = None
        self._hold_after: int | None = None
        self._hold_accept = True
        self._released = threading.Event()
        self.held = threading.Event()  # set while a call is parked by hold_after
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without TCP_NODELAY the second waits for
            # the client's delayed ACK (~40 ms a request on Linux), capping a fake at ~25 calls/s.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
                reply = fake._dispatch(request)
                request.status = reply.status
                data = b"" if reply.payload is None else json.dumps(reply.payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name=type(self).__name__)
        self._thread.start()
        if self.auto_callbacks:
            self._dispatcher = threading.Thread(target=self._dispatch_callbacks, daemon=True,
                                                name=type(self).__name__ + "-callbacks")
            self._dispatcher.start()
        return self

    def stop(self) -> None:
        self.release(accept=False)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._dispatcher is not None:
            self._pending.put(None)  # type: ignore[arg-type]
            self._dispatcher.join(timeout=5)
            self._dispatcher = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- behaviour -----------------------------------------------------------------
    def fail_next(self, count: int, status: int | str = 429) -> None:
        """Answer the next `count` well-authenticated calls with `status` (429, 500, 503, "timeout")."""
        with self.lock:
            self._failures.extend([status] * count)

    def hold_after(self, accepted: int) -> None:
        """Park every call that comes once `accepted` calls were accepted, until `release()`."""
        with self.lock:
            self._hold_after = accepted
            self._released.clear()
            self.held.clear()

    def release(self, accept: bool = True) -> None:
        """Let parked calls go on: `accept=False` answers them 503 without accepting (the
        caller is dead, so nothing it asked for happened)."""
        with self.lock:
            self._hold_after = None
            self._hold_accept = accept
        self._released.set()

    def accepted_count(self) -> int:  # pragma: no cover - overridden
        return 0

    def _dispatch(self, request: RecordedRequest) -> Reply:
        with self.lock:
            self.requests.append(request)
        if request.path.startswith("/_fake/"):
            return self.control(request)
        reply = self.authenticate(request)
        if reply is not None:
            return reply
        with self.lock:
            hold = self._hold_after is not None and self.accepted_count() >= self._hold_after
        if hold:
            self.held.set()
            self._released.wait()
            if not self._hold_accept:
                return self.failure(503)
        with self.lock:
            failure = self._failures.pop(0) if self._failures else None
            if failure is None and self.failure_rate and self.rng.random() < self.failure_rate:
                failure = self.rng.choice(self.failure_kinds)
            if failure is not None:
                self.injected.append(failure)
        if failure == "timeout":
            time.sleep(self.timeout_seconds)  # the client has given up by now; nothing accepted
            return self.failure(504)
        if failure is not None:
            reply = self.failure(int(failure))
            if int(failure) in (429, 503) and self.retry_after is not None:
                reply.headers["Retry-After"] = str(self.retry_after)
            return reply
        if self.latency:
            time.sleep(self.latency)
        try:
            return self.handle(request)
        except Exception as exc:  # a bug in the fake must show, not hang the client
            return Reply(500, {"message": f"fake server error: {exc}"})

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        return None

    def failure(self, status: int) -> Reply:
        return Reply(status, {"message": "injected failure", "status": status})

    def handle(self, request: RecordedRequest) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def control(self, request: RecordedRequest) -> Reply:
        """/_fake/... : a small control API for people running the CLI demo."""
        if request.path.startswith("/_fake/stats"):
            return Reply(200, {"accepted": self.accepted_count(), "requests": len(self.requests),
                               "callbacks": len(self.callbacks), "injected": len(self.injected)})
        return Reply(404, {"message": "unknown control path"})

    # --- callbacks -----------------------------------------------------------------
    def _queue_callback(self, callback: Callback) -> None:
        with self.lock:
            self.callbacks.append(callback)
        self._pending.put(callback)

    def _send(self, callback: Callback, transport: Transport | None = None) -> Callback:
        if transport is None:
            callback.status, callback.response = http_transport(rebase(callback.url, self.callback_base),
                                                                callback.body, callback.headers)
        else:
            callback.status, callback.response = transport(callback.url, callback.body, callback.headers)
        return callback

    def flush_callbacks(self, transport: Transport | None = None) -> list[Callback]:
        """Send every queued callback now, in order; returns them with our app's answers."""
        sent = []
        while True:
            try:
                callback = self._pending.get_nowait()
            except queue.Empty:
                return sent
            if callback is None:
                continue
            sent.append(self._send(callback, transport))

    def _dispatch_callbacks(self) -> None:
        while True:
            callback = self._pending.get()
            if callback is None:
                return
            self._send(callback)

    def pending_callbacks(self) -> int:
        return self._pending.qsize()


# ----------------------------------------------------------------------------------------
class FakeSendGrid(FakeServer):
    """POST /v3/mail/send with SendGrid's validation rules that matter to us, and signed events.

    `bounces` / `drops`: addresses whose mail bounces (5.1.1) or is dropped; the others
    are delivered. `events_url` is the Event Webhook URL (default: public base +
    /webhooks/sendgrid/events); with none, no events are made.
    """

    def __init__(self, api_key: str = "SG.test-key", *, events_url: str | None = None,
                 bounces: Iterable[str] = (), drops: Iterable[str] = (), email_activity: bool = True,
                 **options) -> None:
        super().__init__(**options)
        from cryptography.hazmat.primitives.asymmetric import ec

        self.api_key = api_key
        self.email_activity = email_activity  # False: the account has no Email Activity API
        self.mails: list[dict] = []  # accepted request bodies
        self.rendered: list[dict] = []  # per accepted personalization: to, subject, text, html, delivery_id
        self.message_ids: list[str] = []
        self.events_url = events_url or (self.public_base + "/webhooks/sendgrid/events" if self.public_base else None)
        self.bounces = {a.lower() for a in bounces}
        self.drops = {a.lower() for a in drops}
        self._signing_key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> str:
        """The verification key as SendGrid shows it (base64 DER SubjectPublicKeyInfo)."""
        from cryptography.hazmat.primitives import serialization

        der = self._signing_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode("ascii")

    def sign(self, payload: str, timestamp: str) -> str:
        """X-Twilio-Email-Event-Webhook-Signature for `payload` sent at `timestamp`."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        signature = self._signing_key.sign((timestamp + payload).encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")

    def accepted_count(self) -> int:
        return len(self.mails)

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"errors": [{"field": None, "message":
                          "The provided authorization grant is invalid, expired, or revoked"}]})
        return None

    def failure(self, status: int) -> Reply:
        return Reply(status, {"errors": [{"field": None, "message": "injected failure"}]})

    def handle(self, request: RecordedRequest) -> Reply:
        if request.method == "GET" and urlsplit(request.path).path.rstrip("/") == "/v3/messages":
            return self.activity(request)
        if request.method != "POST" or request.path.rstrip("/") != "/v3/mail/send":
            return Reply(404, {"errors": [{"field": None, "message": "not found"}]})
        if len(request.body) > 30 * 1024 * 1024:
            return Reply(413, {"errors": [{"field": None, "message": "The JSON payload exceeds 30 MB."}]})
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return Reply(400, {"errors": [{"field": None, "message": "Bad Request"}]})
        request.json = body
        problems = validate_mail(body)
        if problems:
            return Reply(400, {"errors": [{"field": f, "message": m, "help": None} for f, m in problems]})
        message_id = secrets.token_urlsafe(16)
        rendered = render_mail(body)
        with self.lock:
            self.mails.append(body)
            self.message_ids.append(message_id)
            self.rendered.extend(rendered)
        sandbox = ((body.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable") is True
        if not sandbox and self.events_url:
            self._queue_callback(self.events_callback(self.events_for(body, message_id)))
        return Reply(200 if sandbox else 202, None, {"X-Message-Id": message_id})

    def activity(self, request: RecordedRequest) -> Reply:
        """GET /v3/messages: the Email Activity API's message summaries matching the query."""
        if not self.email_activity:
            return Reply(403, {"errors": [{"field": None, "message": "access forbidden"}]})
        params = parse_qs(urlsplit(request.path).query)
        try:
            limit = int((params.get("limit") or ["10"])[0])
            conditions = _activity_query((params.get("query") or [""])[0])
        except ValueError as exc:
            return Reply(400, {"errors": [{"field": "query", "message": str(exc)}]})
        if not 1 <= limit <= 1000:
            return Reply(400, {"errors": [{"field": "limit", "message": "limit must be between 1 and 1000"}]})
        found = []
        with self.lock:
            mails = list(zip(self.mails, self.message_ids))
        for mail, message_id in reversed(mails):  # newest first
            for i, p in enumerate(mail["personalizations"]):
                args = {**(mail.get("custom_args") or {}), **(p.get("custom_args") or {})}
                for to in p["to"]:
                    summary = {"from_email": mail["from"]["email"], "msg_id": f"{message_id}.filter0001.{i}",
                               "subject": p.get("subject", mail.get("subject")), "to_email": to["email"],
                               "status": "delivered", "opens_count": 0, "clicks_count": 0,
                               "last_event_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                    if all(_activity_match(summary, args, field, value) for field, value in conditions):
                        found.append(summary)
        return Reply(200, {"messages": found[:limit]})

    def events_for(self, mail: dict, message_id: str) -> list[dict]:
        """The events SendGrid would report for an accepted mail: processed, then the outcome."""
        now = int(time.time())
        processed, outcome = [], []
        for i, p in enumerate(mail["personalizations"]):
            for to in p["to"]:
                email = to["email"]
                common = {"email": email, "timestamp": now, "smtp-id": f"<{message_id}@fake.sendgrid>",
                          "sg_message_id": f"{message_id}.filter0001.{i}",
                          **(mail.get("custom_args") or {}), **(p.get("custom_args") or {})}
                processed.append({**common, "event": "processed", "sg_event_id": secrets.token_urlsafe(16)})
                if email.lower() in self.drops:
                    outcome.append({**common, "event": "dropped", "sg_event_id": secrets.token_urlsafe(16),
                                    "reason": "Bounced Address"})
                elif email.lower() in self.bounces:
                    outcome.append({**common, "event": "bounce", "sg_event_id": secrets.token_urlsafe(16),
                                    "type": "bounce", "status": "5.1.1",
                                    "reason": "550 5.1.1 The email account that you tried to reach does not exist."})
                else:
                    outcome.append({**common, "event": "delivered", "sg_event_id": secrets.token_urlsafe(16),
                                    "response": "250 OK"})
        return processed + outcome

    def events_callback(self, events: list[dict], timestamp: str | None = None) -> Callback:
        """A signed Event Webhook POST carrying `events` (also used by tests to forge duplicates)."""
        payload = json.dumps(events)
        timestamp = timestamp or str(int(time.time()))
        headers = {"Content-Type": "application/json",
                   "X-Twilio-Email-Event-Webhook-Signature": self.sign(payload, timestamp),
                   "X-Twilio-Email-Event-Webhook-Timestamp": timestamp}
        return Callback(self.events_url or "", payload.encode("utf-8"), headers, "events")

    def personalizations(self) -> list[dict]:
        """Every accepted personalization, in request order."""
        with self.lock:
            return [p for mail in self.mails for p in mail["personalizations"]]

    def delivery_ids(self) -> list[str]:
        """custom_args.delivery_id of every accepted personalization (duplicates show twice)."""
        return [str((p.get("custom_args") or {}).get("delivery_id")) for p in self.personalizations()]


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONDITION = re.compile(r"""^\s*(?P<field>to_email|msg_id|unique_args\['(?P<arg>[^']+)'\])\s*=\s*"(?P<value>[^"]*)"\s*$""")


def _activity_query(query: str) -> list[tuple[str, str]]:
    """(field, value) conditions of an Email Activity query (`a="x" AND b="y"`); ValueError
    for what this fake does not understand."""
    conditions = []
    for part in re.split(r"\s+AND\s+", query.strip()) if query.strip() else []:
        match = _CONDITION.match(part)
        if match is None:
            raise ValueError(f"unsupported query: {part}")
        field = f"arg:{match['arg']}" if match["arg"] else match["field"]
        conditions.append((field, match["value"]))
    return conditions


def _activity_match(summary: dict, args: dict, field: str, value: str) -> bool:
    if field.startswith("arg:"):
        return str(args.get(field[4:])) == value
    if field == "to_email":
        return summary["to_email"].lower() == value.lower()
    return summary["msg_id"] == value


def _substitute(text: str | None, values: dict[str, str]) -> str | None:
    """Every tag of `values` in `text` replaced in one pass (longest tags first)."""
    if text is None or not values:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(values, key=len, reverse=True)))
    return pattern.sub(lambda m: values[m.group(0)], text)


def render_mail(body: dict) -> list[dict]:
    """What each recipient of an accepted Mail Send request reads, as SendGrid builds it:
    the personalization's subject (else the mail's), its substitutions applied to subject
    and content, then each section tag that appears replaced by that section, with the
    recipient's substitutions filled inside it (sections do not nest)."""
    sections = body.get("sections") or {}
    content = {c.get("type"): c.get("value") for c in body.get("content") or [] if isinstance(c, dict)}
    messages = []
    for p in body["personalizations"]:
        values = p.get("substitutions") or {}

        def render(text):
            text = _substitute(text, values)
            if text is None or not sections:
                return text
            expanded = {tag: _substitute(section, values) for tag, section in sections.items()}
            return _substitute(text, expanded)

        for to in p["to"]:
            messages.append({"to": to["email"], "subject": render(p.get("subject", body.get("subject"))),
                             "text": render(content.get("text/plain")), "html": render(content.get("text/html")),
                             "delivery_id": (p.get("custom_args") or {}).get("delivery_id")})
    return messages


def validate_mail(body: Any) -> list[tuple[str | None, str]]:
    """SendGrid's v3 Mail Send rules that a well-formed request must meet."""
    if not isinstance(body, dict):
        return [(None, "The request body must be a JSON object.")]
    problems: list[tuple[str | None, str]] = []
    persons = body.get("personalizations")
    if not isinstance(persons, list) or not persons:
        return [("personalizations", "The personalizations field is required and must have at least one personalization.")]
    if len(persons) > 1000:
        problems.append(("personalizations", "The personalizations field cannot have more than 1000 items."))
    seen: set[str] = set()
    for i, p in enumerate(persons):
        where = f"personalizations.{i}"
        tos = p.get("to") if isinstance(p, dict) else None
        if not isinstance(tos, list) or not tos:
            problems.append((f"{where}.to", "The to array is required for all personalization objects, "
                                            "and must have at least one email object with a valid email address."))
            continue
        for to in tos:
            email = (to or {}).get("email") if isinstance(to, dict) else None
            if not isinstance(email, str) or not _EMAIL.match(email):
                problems.append((f"{where}.to", "Does not contain a valid address."))
            elif email.lower() in seen:
                problems.append((f"{where}.to", "Each email address in the personalization block should be "
                                                "unique between to, cc, and bcc."))
            else:
                seen.add(email.lower())
        for key in ("substitutions", "custom_args"):
            values = p.get(key)
            if values is not None and (not isinstance(values, dict)
                                       or not all(isinstance(v, str) for v in values.values())):
                problems.append((f"{where}.{key}", f"{key} values must be strings."))
            elif values and len(json.dumps(values).encode("utf-8")) > 10000:
                problems.append((f"{where}.{key}", f"The {key} of a personalization may not exceed 10,000 bytes."))
        if "subject" in p and not isinstance(p["subject"], str):
            problems.append((f"{where}.subject", "The subject must be a string."))
        if "subject" not in p and not body.get("subject"):
            problems.append(("subject", "The subject is required."))
    sections = body.get("sections")
    if sections is not None and (not isinstance(sections, dict)
                                 or not all(isinstance(v, str) for v in sections.values())):
        problems.append(("sections", "sections values must be strings."))
    sender = body.get("from")
    if not isinstance(sender, dict) or not _EMAIL.match(str(sender.get("email", ""))):
        problems.append(("from.email", "The from email does not contain a valid address."))
    content = body.get("content")
    if not isinstance(content, list) or not content:
        if not body.get("template_id"):
            problems.append(("content", "Unless a valid template_id is provided, the content parameter is required."))
    else:
        types = [c.get("type") if isinstance(c, dict) else None for c in content]
        if any(not isinstance(c, dict) or not c.get("value") for c in content):
            problems.append(("content", "The content value must be a string at least one character in length."))
        if "text/plain" in types and types[0] != "text/plain":
            problems.append(("content", "If present, text/plain and text/html may only be provided in the following "
                                         "order: text/plain, text/html."))
    sandbox = ((body.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable", False)
    if not isinstance(sandbox, bool):
        problems.append(("mail_settings.sandbox_mode.enable", "The sandbox_mode enable field must be a boolean."))
    return problems


# ----------------------------------------------------------------------------------------
MAGIC_NUMBERS = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
def _twilio_day(value: str | None) -> str | None:
    """The day (YYYY-MM-DD) of a DateSent filter; ValueError if it is not one."""
    if value is None:
        return None
    day = value[:10]
    time.strptime(day, "%Y-%m-%d")
    return day


_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


class FakeTwilio(FakeServer):
    """POST /2010-04-01/Accounts/<sid>/Messages.json like Twilio's Programmable Messaging.

    After accepting a message with a StatusCallback it queues signed callbacks: "sent",
    then "delivered" — or "undelivered" (30003) for numbers in `undeliverable`.
    """

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token", *,
                 undeliverable: Iterable[str] = (), number: str = "+15005550006", **options) -> None:
        super().__init__(**options)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.number = number  # our number, the To of inbound replies
        self.messages: list[dict] = []  # accepted messages as Twilio would return them
        self.opted_out: set[str] = set()  # numbers that answer 21610
        self.undeliverable: set[str] = set(undeliverable)

    def accepted_count(self) -> int:
        return len(self.messages)

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return self._error(401, 20003, "Authenticate")
        return None

    def failure(self, status: int) -> Reply:
        code = 20429 if status == 429 else 20500
        return self._error(status, code, "injected failure")

    @staticmethod
    def _error(status: int, code: int, message: str) -> Reply:
        return Reply(status, {"code": code, "message": message,
                              "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})

    def handle(self, request: RecordedRequest) -> Reply:
        match = _MESSAGES_PATH.match(request.path.split("?")[0])
        if request.method not in ("POST", "GET") or not match:
            return self._error(404, 20404, "The requested resource was not found")
        if match["sid"] != self.account_sid:
            return self._error(403, 20003, "Authenticate")
        if request.method == "GET":
            return self.list_messages(request)
        form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        request.form = form
        get = lambda name: (form.get(name) or [None])[0]  # noqa: E731
        to, sender, service, body = get("To"), get("From"), get("MessagingServiceSid"), get("Body")
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not (sender or service):
            return self._error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return self._error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if to in MAGIC_NUMBERS:
            code, message = MAGIC_NUMBERS[to]
            return self._error(400, code, message)
        if not _E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.opted_out:
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        validity = get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and 1 <= int(validity) <= 36000):
            return self._error(400, 21623, "ValidityPeriod must be between 1 and 36000 seconds.")
        sid = "SM" + secrets.token_hex(16)
        moment = time.time()
        now = formatdate(moment, usegmt=True)
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            # the fake hands a message to the network at once: it has a DateSent from the start
            "date_created": now, "date_sent": now, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": sender, "messaging_service_sid": service, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
            "status": "accepted" if service else "queued", "subresource_uris": {"media": None},
            "to": to, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            # not part of Twilio's answer: kept for tests and the callbacks
            "_status_callback": get("StatusCallback"), "_validity_period": validity, "_at": moment,
        }
        with self.lock:
            self.messages.append(message)
        if message["_status_callback"]:
            for status in ("sent", "undelivered" if to in self.undeliverable else "delivered"):
                self._queue_callback(self.status_callback(message, status))
        return Reply(201, {k: v for k, v in message.items() if not k.startswith("_")})

    def list_messages(self, request: RecordedRequest) -> Reply:
        """GET Messages.json: the account's messages, newest first, filtered by To, From and
        DateSent (a day, `YYYY-MM-DD` or the SDK's `YYYY-MM-DDT00:00:00Z`: DateSent> keeps the
        messages sent that day or later, DateSent< that day or before), one page at a time."""
        query = parse_qs(urlsplit(request.path).query)
        get = lambda name: (query.get(name) or [None])[0]  # noqa: E731
        try:
            page_size = int(get("PageSize") or 50)
            page = int(get("Page") or 0)
            after, before, on = (_twilio_day(get(name)) for name in ("DateSent>", "DateSent<", "DateSent"))
        except ValueError:
            return self._error(400, 20001, "Invalid filter")
        with self.lock:
            messages = list(reversed(self.messages))

        def keep(m: dict) -> bool:
            day = time.strftime("%Y-%m-%d", time.gmtime(m["_at"]))
            return ((get("To") is None or m["to"] == get("To")) and (get("From") is None or m["from"] == get("From"))
                    and (after is None or day >= after) and (before is None or day <= before)
                    and (on is None or day == on))

        chosen = [m for m in messages if keep(m)]
        rows = chosen[page * page_size:(page + 1) * page_size]
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        more = (page + 1) * page_size < len(chosen)
        filters = {k: v[0] for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(number: int) -> str:
            return base + "?" + urlencode({**filters, "PageSize": page_size, "Page": number})

        return Reply(200, {
            "messages": [{k: v for k, v in m.items() if not k.startswith("_")} for m in rows],
            "end": page * page_size + max(len(rows) - 1, 0), "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None, "page": page, "page_size": page_size,
            "previous_page_uri": uri(page - 1) if page > 0 else None, "start": page * page_size,
            "uri": uri(page)})

    def sign(self, url: str, params: dict) -> str:
        """X-Twilio-Signature for a POST of `params` to `url`, as Twilio computes it."""
        from twilio.request_validator import RequestValidator

        return RequestValidator(self.auth_token).compute_signature(url, params)

    def _signed_form(self, url: str, params: dict, kind: str) -> Callback:
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": self.sign(url, params),
                   "I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        return Callback(url, urlencode(params).encode("utf-8"), headers, kind)

    def status_callback(self, message: dict, status: str) -> Callback:
        """The signed status callback Twilio would POST for `message` reaching `status`."""
        params = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "From": message["from"] or self.number,
                  "MessageSid": message["sid"], "SmsSid": message["sid"], "MessageStatus": status,
                  "SmsStatus": status, "To": message["to"]}
        if message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if status in ("undelivered", "failed"):
            params["ErrorCode"] = "30003"
        return self._signed_form(message["_status_callback"], params, "status")

    def inbound(self, from_number: str, body: str, to: str | None = None) -> Callback:
        """The signed form Twilio POSTs to our inbound SMS webhook when `from_number` texts us."""
        if not self.public_base:
            raise ValueError("set public_base (or callback_base) to send inbound SMS")
        sid = "SM" + secrets.token_hex(16)
        params = {"ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid,
                  "SmsStatus": "received", "Body": body, "To": to or self.number, "NumSegments": "1",
                  "MessageSid": sid, "AccountSid": self.account_sid, "From": from_number,
                  "ApiVersion": "2010-04-01"}
        return self._signed_form(self.public_base + "/webhooks/twilio/sms", params, "inbound")

    def reply(self, from_number: str, body: str, to: str | None = None,
              transport: Transport | None = None) -> Callback:
        """Text us from `from_number`: POST a signed inbound SMS now; returns it with our answer."""
        callback = self.inbound(from_number, body, to)
        with self.lock:
            self.callbacks.append(callback)
        return self._send(callback, transport)

    def control(self, request: RecordedRequest) -> Reply:
        if request.path.startswith("/_fake/reply") and request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8")).items()}
            if not form.get("From") or "Body" not in form:
                return Reply(400, {"message": "POST From and Body"})
            callback = self.reply(form["From"], form["Body"])
            return Reply(200, {"status": callback.status, "answer": callback.response})
        return super().control(request)

    def delivery_ids(self) -> list[str]:
        """The `d` (our delivery id) of each accepted message's StatusCallback (duplicates show twice)."""
        ids = []
        with self.lock:
            for m in self.messages:
                query = parse_qs(urlsplit(m.get("_status_callback") or "").query)
                ids.append((query.get("d") or [""])[0])
        return ids


def main(argv: list[str] | None = None) -> int:
    """Run both fakes until Ctrl-C, printing the environment that points the app at them."""
    parser = argparse.ArgumentParser(prog="python -m devtools.fake_providers", description=__doc__.split("\n")[0])
    parser.add_argument("--sendgrid-port", type=int, default=8025)
    parser.add_argument("--twilio-port", type=int, default=8026)
    parser.add_argument("--callback-base", default="http://127.0.0.1:5000",
                        help="where the app listens (callbacks are delivered there)")
    parser.add_argument("--public-base", default=None,
                        help="the app's PUBLIC_BASE_URL, which callbacks are signed for (default: callback base)")
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each accepted call")
    parser.add_argument("--bounce", action="append", default=[], help="an email address that bounces")
    parser.add_argument("--undeliverable", action="append", default=[], help="a number whose SMS is undelivered")
    args = parser.parse_args(argv)
    common = dict(failure_rate=args.failure_rate, seed=args.seed, latency=args.latency,
                  callback_base=args.callback_base, public_base=args.public_base, auto_callbacks=True)
    sendgrid = FakeSendGrid("SG.fake-key", bounces=args.bounce, port=args.sendgrid_port, **common).start()
    twilio = FakeTwilio("AC" + "f" * 32, "fake-auth-token", undeliverable=args.undeliverable,
                        port=args.twilio_port, **common).start()
    public = sendgrid.public_base
    print("Fake SendGrid on", sendgrid.base_url, "and fake Twilio on", twilio.base_url)
    print("Run the app with:")
    for name, value in (("PUBLIC_BASE_URL", public), ("SENDGRID_API_KEY", sendgrid.api_key),
                        ("SENDGRID_API_BASE_URL", sendgrid.base_url),
                        ("SENDGRID_WEBHOOK_PUBLIC_KEY", sendgrid.public_key),
                        ("TWILIO_ACCOUNT_SID", twilio.account_sid), ("TWILIO_AUTH_TOKEN", twilio.auth_token),
                        ("TWILIO_API_BASE_URL", twilio.base_url), ("TWILIO_FROM", twilio.number)):
        print(f"  export {name}='{value}'")
    print(f"Text the app: curl -d From=+33612345678 -d Body=OUI {twilio.base_url}/_fake/reply")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sendgrid.stop()
        twilio.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
