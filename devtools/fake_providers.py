"""Local fake SendGrid and Twilio servers, for tests and demos without the internet.

The official SDKs are pointed at them (SENDGRID_API_BASE_URL, TWILIO_API_BASE_URL), so the
same code paths run as in production. Each fake checks authentication and the request
shape the real API insists on, records what it accepted, and answers like the real one:

- FakeSendGrid: POST /v3/mail/send, Bearer key, JSON → 202 with X-Message-Id.
- FakeTwilio: POST /2010-04-01/Accounts/<sid>/Messages.json, basic auth, form body →
  201 JSON with a `sid` SM...; Twilio's magic test numbers fail as they do with test
  credentials: +15005550001 invalid (21211), +15005550002 unroutable (21612),
  +15005550004 opted out (21610), +15005550009 not SMS-capable (21614).

`fail_next(n, status)` makes the next n calls answer 429 / 500 / ... instead. Servers
listen on 127.0.0.1 with an ephemeral port, in a background thread:

    with FakeSendGrid() as sendgrid:
        SendGridEmail("SG.test", host=sendgrid.base_url, ...)
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


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


class FakeServer:
    """A tiny HTTP server in a thread; subclasses implement `handle(request) -> Reply`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []  # every request, accepted or not
        self.lock = threading.Lock()
        self._failures: list[int] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
                reply = fake._dispatch(request)
                request.status = reply.status
                data = b"" if reply.payload is None else json.dumps(reply.payload).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name=type(self).__name__)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

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
    def fail_next(self, count: int, status: int = 429) -> None:
        """Answer the next `count` well-authenticated calls with `status` (429, 500, 503...)."""
        with self.lock:
            self._failures.extend([status] * count)

    def _dispatch(self, request: RecordedRequest) -> Reply:
        with self.lock:
            self.requests.append(request)
        reply = self.authenticate(request)
        if reply is not None:
            return reply
        with self.lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return self.failure(failure)
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


# ----------------------------------------------------------------------------------------
class FakeSendGrid(FakeServer):
    """POST /v3/mail/send with SendGrid's validation rules that matter to us."""

    def __init__(self, api_key: str = "SG.test-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.mails: list[dict] = []  # accepted request bodies
        self.message_ids: list[str] = []

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"errors": [{"field": None, "message":
                          "The provided authorization grant is invalid, expired, or revoked"}]})
        return None

    def failure(self, status: int) -> Reply:
        return Reply(status, {"errors": [{"field": None, "message": "injected failure"}]})

    def handle(self, request: RecordedRequest) -> Reply:
        if request.method != "POST" or request.path.rstrip("/") != "/v3/mail/send":
            return Reply(404, {"errors": [{"field": None, "message": "not found"}]})
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return Reply(400, {"errors": [{"field": None, "message": "Bad Request"}]})
        request.json = body
        problems = validate_mail(body)
        if problems:
            return Reply(400, {"errors": [{"field": f, "message": m, "help": None} for f, m in problems]})
        message_id = secrets.token_urlsafe(16)
        with self.lock:
            self.mails.append(body)
            self.message_ids.append(message_id)
        sandbox = ((body.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable") is True
        return Reply(200 if sandbox else 202, None, {"X-Message-Id": message_id})

    def personalizations(self) -> list[dict]:
        """Every accepted personalization, in request order."""
        with self.lock:
            return [p for mail in self.mails for p in mail["personalizations"]]


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
            problems.append((f"{where}.to", "The to array is required for all personalization objects, and must have at least one email object with a valid email address."))
            continue
        for to in tos:
            email = (to or {}).get("email") if isinstance(to, dict) else None
            if not isinstance(email, str) or not _EMAIL.match(email):
                problems.append((f"{where}.to", "Does not contain a valid address."))
            elif email.lower() in seen:
                problems.append((f"{where}.to", "Each email address in the personalization block should be unique between to, cc, and bcc."))
            else:
                seen.add(email.lower())
        for key in ("substitutions", "custom_args"):
            values = p.get(key)
            if values is not None and (not isinstance(values, dict)
                                       or not all(isinstance(v, str) for v in values.values())):
                problems.append((f"{where}.{key}", f"{key} values must be strings."))
        if "subject" not in p and not body.get("subject"):
            problems.append(("subject", "The subject is required."))
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
            problems.append(("content", "If present, text/plain and text/html may only be provided in the following order: text/plain, text/html."))
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
_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


class FakeTwilio(FakeServer):
    """POST /2010-04-01/Accounts/<sid>/Messages.json like Twilio's Programmable Messaging."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token") -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []  # accepted messages as Twilio would return them
        self.opted_out: set[str] = set()  # numbers that answer 21610

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
        if request.method != "POST" or not match:
            return self._error(404, 20404, "The requested resource was not found")
        if match["sid"] != self.account_sid:
            return self._error(403, 20003, "Authenticate")
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
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(time.time(), usegmt=True)
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": sender, "messaging_service_sid": service, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
            "status": "accepted" if service else "queued", "subresource_uris": {"media": None},
            "to": to, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            # not part of Twilio's answer: kept for tests and the callback extension
            "_status_callback": get("StatusCallback"), "_validity_period": get("ValidityPeriod"),
        }
        with self.lock:
            self.messages.append(message)
        return Reply(201, {k: v for k, v in message.items() if not k.startswith("_")})
