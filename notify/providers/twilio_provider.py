"""SMS through Twilio's Messages API with the official `twilio` SDK.

`base_url` points the SDK at any compatible server (a regional edge, a proxy, the local
fake in devtools) by replacing the Api domain's base URL, which every Messages request
is built from (twilio 9.x). Outcome: 429 / 20429 / 5xx and network failures are
retryable (the sync client never retries by itself), with the Retry-After Twilio sent;
everything else Twilio refuses — 21610 opted out, 21211 invalid number, 21614 not a
mobile... — fails for good.

Each message's `status_callback` carries our delivery id (`?d=<id>`): if a worker dies
after Twilio accepted a message but before the sid was recorded, the status callback
still tells us the delivery was sent, so the stale-claim sweep does not send it again.

Callbacks may never come (a firewall, a wrong PUBLIC_BASE_URL) or come late, so before a
message claimed by a dead worker is sent again, `find_sent` asks Twilio: the Messages list
filtered by `To` and `DateSent>=` the claim's day, matched on the body and on a creation
time after the claim (the Message resource does not return the status callback URL, and
Twilio has no idempotency key). A message Twilio still holds in its queue has no DateSent
yet and is not listed: with a sender queue hours long (errors 30001 / 21611), such a
message can still be sent twice.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..errors import ProviderUnsure
from ..retry import parse_retry_after
from .base import SendResult, SmsMessage

log = logging.getLogger(__name__)

RETRYABLE_CODES = frozenset({20429, 20500, 20503, 30001})
OPTED_OUT, INVALID_NUMBER = 21610, 21211


def is_retryable(status: int | None, code: int | None) -> bool:
    """Whether Twilio's answer is a temporary failure worth trying again later."""
    if code in (OPTED_OUT, INVALID_NUMBER):
        return False
    return code in RETRYABLE_CODES or status == 429 or (status or 0) >= 500


def callback_url(status_callback: str, delivery_id: int) -> str:
    """The status callback URL for one delivery: ours, with `d=<delivery id>` in the query."""
    separator = "&" if "?" in status_callback else "?"
    return f"{status_callback}{separator}d={int(delivery_id)}"


def environment_settings(url: str) -> tuple[dict, str | bool]:
    """(proxies, verify): what requests takes from the environment for a call to `url`
    (HTTPS_PROXY / ALL_PROXY unless NO_PROXY names the host; REQUESTS_CA_BUNDLE, then
    CURL_CA_BUNDLE), asked of requests itself, as a session trusting the environment
    asks on each call."""
    with requests.Session() as trusting:
        settings = trusting.merge_environment_settings(url, {}, None, None, None)
    return settings["proxies"], settings["verify"]


class _HeaderKeepingClient(TwilioHttpClient):
    """TwilioHttpClient that remembers, per thread, the headers of the last answer, and
    reads the environment's proxy and CA settings once, not on every call.

    TwilioRestException drops the response headers, and with them Retry-After.

    requests, trusting the environment, walks every environment variable looking for
    proxies on each call (twice: merge_environment_settings, then resolve_proxies): a third
    of a sending thread's CPU at provider speed, and more the larger the worker's
    environment, which holds its whole configuration (bench/fanout.py). The settings are
    read by requests' rules (`environment_settings`) the first time a host is called (the
    SDK may rewrite the host for a region or edge), and the session stops looking.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.session.trust_env = False
        self._origin: tuple[str, str] | None = None
        self._local = threading.local()

    def request(self, method, url, *args, **kwargs):
        origin = urlsplit(url)[:2]
        if origin != self._origin:  # one client per thread: no other thread changes these
            self.proxy, self.session.verify = environment_settings(url)
            self._origin = origin
        self._local.headers = None
        response = super().request(method, url, *args, **kwargs)
        self._local.headers = response.headers
        return response

    def last_header(self, name: str) -> str | None:
        headers = getattr(self._local, "headers", None)
        if not headers:
            return None
        return headers.get(name)


class TwilioSms:
    """Safe to call from several threads: each thread other than the creating one gets its
    own SDK client and HTTP session (requests' Session is not documented as thread-safe)."""

    name = "twilio"
    thread_safe = True  # notify.delivery.send_sms_batch may keep several calls in flight

    def __init__(self, account_sid: str, auth_token: str, from_number: str | None = None,
                 messaging_service_sid: str | None = None, base_url: str | None = None,
                 status_callback: str | None = None, validity_period: int | None = None,
                 timeout: float = 30, limiter=None):
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs a sender: from_number or messaging_service_sid")
        self._credentials = (account_sid, auth_token, base_url, timeout)
        self._owner = threading.get_ident()
        self._local = threading.local()
        self.http, self.client = self._new_client()
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self.validity_period = int(validity_period) if validity_period else None
        self.limiter = limiter  # notify.throttle.RateLimiter or None: messages per second

    def _new_client(self) -> tuple[_HeaderKeepingClient, Client]:
        account_sid, auth_token, base_url, timeout = self._credentials
        http = _HeaderKeepingClient(timeout=timeout)
        client = Client(account_sid, auth_token, http_client=http)
        if base_url:
            client.api.base_url = base_url.rstrip("/")
        return http, client

    def _thread_client(self) -> tuple[_HeaderKeepingClient, Client]:
        if threading.get_ident() == self._owner:
            return self.http, self.client
        if getattr(self._local, "client", None) is None:
            self._local.http, self._local.client = self._new_client()
        return self._local.http, self._local.client

    def request_params(self, message: SmsMessage) -> dict:
        """The keyword arguments of `messages.create` for `message`."""
        kwargs: dict = {"to": message.to, "body": message.body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        # A message outside the delivery rows (a check-in code, a page to an officer) has
        # no delivery for a status to update: it asks for no callback.
        if self.status_callback and message.delivery_id is not None:
            kwargs["status_callback"] = callback_url(self.status_callback, message.delivery_id)
        if self.validity_period:
            kwargs["validity_period"] = self.validity_period
        return kwargs

    def send(self, message: SmsMessage) -> SendResult:
        kwargs = self.request_params(message)
        http, client = self._thread_client()
        if self.limiter is not None:
            self.limiter.acquire()
        try:
            created = client.messages.create(**kwargs)
        except TwilioRestException as exc:
            error = f"Twilio {exc.status} {exc.code or ''}: {exc.msg}".replace("  ", " ")
            retryable = is_retryable(exc.status, exc.code)
            wait = parse_retry_after(http.last_header("Retry-After")) if retryable else None
            log.warning("Twilio refused delivery %s: %s", message.delivery_id, error)
            return SendResult(message.delivery_id, False, None, error, retryable, wait)
        except (requests.RequestException, TwilioException, OSError) as exc:
            # No answer (or an unreadable one): the message may not exist; try again later.
            log.warning("Twilio unreachable for delivery %s: %s", message.delivery_id, exc)
            return SendResult(message.delivery_id, False, None, f"Twilio unreachable: {exc}", True)
        return SendResult(message.delivery_id, True, created.sid, None, False)

    def find_sent(self, messages: list[SmsMessage], since: datetime,
                  exclude: set[str] = frozenset()) -> dict[int, str] | None:
        """Which of `messages` Twilio accepted at `since` or later: {delivery id: sid}.

        One list per number (To, DateSent>= the day of `since`); a listed outbound message
        created at `since` or later with the same body, whose sid is not in `exclude` (ours
        already), stands for one of them. Raises ProviderUnsure when Twilio does not answer
        now; None when it refuses the question (a key without read access)."""
        http, client = self._thread_client()
        by_number: dict[str, list[SmsMessage]] = {}
        for message in messages:
            by_number.setdefault(message.to, []).append(message)
        day = datetime(since.year, since.month, since.day, tzinfo=timezone.utc)
        since = since if since.tzinfo is not None else since.replace(tzinfo=timezone.utc)
        found: dict[int, str] = {}
        for number, wanted in by_number.items():
            try:
                listed = client.messages.list(to=number, date_sent_after=day, limit=1000)
            except TwilioRestException as exc:
                if is_retryable(exc.status, exc.code):
                    raise ProviderUnsure(f"Twilio {exc.status} {exc.code or ''}: {exc.msg}") from exc
                log.warning("Twilio will not list messages (%s %s): cannot tell what was sent", exc.status, exc.code)
                return None
            except (requests.RequestException, TwilioException, OSError) as exc:
                raise ProviderUnsure(f"Twilio unreachable: {exc}") from exc
            candidates = [m for m in listed
                          if m.sid not in exclude and (m.direction or "").startswith("outbound")
                          and (m.date_created is None or m.date_created >= since)]
            for message in wanted:
                match = next((m for m in candidates if m.body == message.body), None)
                if match is not None:
                    candidates.remove(match)
                    found[message.delivery_id] = match.sid
        return found
