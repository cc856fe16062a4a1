"""Twilio provider: the real SDK against the local fake Twilio server."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests

from notify.providers.base import SmsMessage
from notify.providers.twilio_provider import TwilioSms, environment_settings, is_retryable


@pytest.fixture
def provider(fake_twilio):
    return TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, from_number="+15005550006",
                     base_url=fake_twilio.base_url,
                     status_callback="https://consular.example/webhooks/twilio/status")


def test_message_is_created_with_sender_body_and_status_callback(provider, fake_twilio):
    result = provider.send(SmsMessage(7, "+33612345678", "Séisme: êtes-vous en sécurité ? Répondez 1 ou 2"))
    assert result.ok and result.delivery_id == 7
    assert result.provider_message_id.startswith("SM")
    sent = fake_twilio.messages[0]
    assert (sent["to"], sent["from"], sent["sid"]) == ("+33612345678", "+15005550006", result.provider_message_id)
    assert sent["body"] == "Séisme: êtes-vous en sécurité ? Répondez 1 ou 2"
    assert sent["_status_callback"] == "https://consular.example/webhooks/twilio/status?d=7"


def test_a_message_outside_the_delivery_rows_asks_for_no_status_callback(provider, fake_twilio):
    result = provider.send(SmsMessage(None, "+33612345678", "Dossier ouvert"))
    assert result.ok
    assert fake_twilio.messages[0]["_status_callback"] is None


def test_messaging_service_is_used_instead_of_a_number_when_given(fake_twilio):
    provider = TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token,
                         messaging_service_sid="MG" + "2" * 32, base_url=fake_twilio.base_url,
                         validity_period=3600)
    assert provider.send(SmsMessage(1, "+33612345678", "hi")).ok
    sent = fake_twilio.messages[0]
    assert sent["messaging_service_sid"] == "MG" + "2" * 32 and sent["from"] is None
    assert sent["_validity_period"] == "3600"


def test_a_sender_is_required():
    with pytest.raises(ValueError):
        TwilioSms("AC" + "1" * 32, "token")


def test_opted_out_number_fails_for_good(provider):
    result = provider.send(SmsMessage(1, "+15005550004", "hi"))
    assert (result.ok, result.retryable) == (False, False)
    assert "21610" in result.error


def test_invalid_number_fails_for_good(provider):
    result = provider.send(SmsMessage(1, "+15005550001", "hi"))
    assert (result.ok, result.retryable) == (False, False)
    assert "21211" in result.error


def test_too_many_requests_is_retryable(provider, fake_twilio):
    fake_twilio.fail_next(1, status=429)
    result = provider.send(SmsMessage(1, "+33612345678", "hi"))
    assert (result.ok, result.retryable) == (False, True)
    assert fake_twilio.messages == []
    assert provider.send(SmsMessage(1, "+33612345678", "hi")).ok  # the next call goes through


def test_server_error_is_retryable(provider, fake_twilio):
    fake_twilio.fail_next(1, status=500)
    assert provider.send(SmsMessage(1, "+33612345678", "hi")).retryable


def test_wrong_credentials_fail_for_good(fake_twilio):
    provider = TwilioSms(fake_twilio.account_sid, "wrong", from_number="+15005550006",
                         base_url=fake_twilio.base_url)
    result = provider.send(SmsMessage(1, "+33612345678", "hi"))
    assert (result.ok, result.retryable) == (False, False)
    assert "20003" in result.error


def test_unreachable_server_is_retryable():
    provider = TwilioSms("AC" + "1" * 32, "t", from_number="+15005550006",
                         base_url="http://127.0.0.1:9", timeout=5)
    result = provider.send(SmsMessage(1, "+33612345678", "hi"))
    assert (result.ok, result.retryable) == (False, True)


@pytest.mark.parametrize("status, code, expected", [
    (429, 20429, True), (500, None, True), (503, 20503, True), (400, 21610, False),
    (400, 21211, False), (400, 21614, False), (401, 20003, False), (404, 20404, False),
])
def test_retryable_classification(status, code, expected):
    assert is_retryable(status, code) is expected


def test_number_that_replied_stop_fails_for_good(provider, fake_twilio):
    fake_twilio.opted_out.add("+33687654321")
    result = provider.send(SmsMessage(3, "+33687654321", "hi"))
    assert (result.ok, result.retryable, result.delivery_id) == (False, False, 3)
    assert "21610" in result.error


# --- proxies and CA bundles from the environment, read once per host ---------------------------

class _ForwardingProxy(BaseHTTPRequestHandler):
    """A plain HTTP proxy: records the absolute URI it was asked for and forwards the call."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.server.seen.append(self.path)
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in ("host", "proxy-connection", "connection", "content-length")}
        upstream = requests.Session()
        upstream.trust_env = False  # HTTP_PROXY names this proxy: it must not call itself
        reply = upstream.post(self.server.upstream + target.path + (f"?{target.query}" if target.query else ""),
                              data=body, headers=headers, timeout=10)
        self.send_response(reply.status_code)
        self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_proxy(fake_twilio):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingProxy)
    server.seen, server.upstream = [], fake_twilio.base_url.rstrip("/")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


PROXIED_HOST = "twilio.behind-the-proxy.invalid"  # resolvable only by the proxy


def test_a_proxy_named_in_the_environment_carries_every_message(fake_twilio, http_proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{http_proxy.server_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    provider = TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, from_number="+15005550006",
                         base_url=f"http://{PROXIED_HOST}")
    for delivery_id in (1, 2):
        assert provider.send(SmsMessage(delivery_id, "+33612345678", "hi")).ok
    assert len(http_proxy.seen) == 2
    assert all(seen.startswith(f"http://{PROXIED_HOST}/2010-04-01/Accounts/") for seen in http_proxy.seen)
    assert len(fake_twilio.messages) == 2


def test_a_host_listed_in_no_proxy_is_called_directly(fake_twilio, http_proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{http_proxy.server_port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    provider = TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, from_number="+15005550006",
                         base_url=fake_twilio.base_url)
    assert provider.send(SmsMessage(1, "+33612345678", "hi")).ok
    assert http_proxy.seen == [] and len(fake_twilio.messages) == 1


@pytest.mark.parametrize("env, url", [
    ({}, "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"),
    ({"HTTPS_PROXY": "http://proxy.example:3128"}, "https://api.twilio.com/x"),
    ({"ALL_PROXY": "http://proxy.example:3128"}, "https://api.dublin.ie1.twilio.com/x"),
    ({"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": ".twilio.com"}, "https://api.twilio.com/x"),
    ({"HTTP_PROXY": "http://proxy.example:3128"}, "https://api.twilio.com/x"),
    ({"REQUESTS_CA_BUNDLE": "/etc/consulate/ca.pem"}, "https://api.twilio.com/x"),
    ({"CURL_CA_BUNDLE": "/etc/consulate/curl-ca.pem"}, "https://api.twilio.com/x"),
    ({"REQUESTS_CA_BUNDLE": "/etc/a.pem", "CURL_CA_BUNDLE": "/etc/b.pem"}, "https://api.twilio.com/x"),
], ids=["nothing set", "https proxy", "all proxy, regional host", "host in no_proxy", "http proxy only",
        "requests CA bundle", "curl CA bundle", "requests bundle first"])
def test_settings_read_once_are_those_requests_reads_on_every_call(env, url, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    trusting = requests.Session().merge_environment_settings(url, {}, None, None, None)
    proxies, verify = environment_settings(url)
    chosen = requests.utils.select_proxy(url, proxies)
    assert chosen == requests.utils.select_proxy(url, trusting["proxies"])
    assert verify == trusting["verify"]
