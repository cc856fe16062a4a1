"""Helpers for app tests against the fake SendGrid and Twilio."""
from __future__ import annotations

from urllib.parse import urlsplit

from devtools.fake_providers import FakeSendGrid, FakeTwilio
from tests.conftest import api_headers, post_incident

PUBLIC = "https://consular.test"
SID, TOKEN, KEY = "AC" + "5" * 32, "fake-twilio-token", "SG.fake-key"


def start_fakes(**options) -> tuple[FakeSendGrid, FakeTwilio]:
    bounces, drops = options.pop("bounces", ()), options.pop("drops", ())
    undeliverable = options.pop("undeliverable", ())
    sendgrid = FakeSendGrid(KEY, public_base=PUBLIC, bounces=bounces, drops=drops, **options).start()
    twilio = FakeTwilio(SID, TOKEN, public_base=PUBLIC, undeliverable=undeliverable, **options).start()
    return sendgrid, twilio


def provider_config(sendgrid: FakeSendGrid, twilio: FakeTwilio, **extra) -> dict:
    """The app configuration that sends through the fakes with the real SDKs."""
    return {"PUBLIC_BASE_URL": PUBLIC,
            "SENDGRID_API_KEY": KEY, "SENDGRID_API_BASE_URL": sendgrid.base_url,
            "SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid.public_key,
            "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_API_BASE_URL": twilio.base_url,
            "TWILIO_FROM": "+15005550006", "TWILIO_VALIDITY_PERIOD": 3600, "PROVIDER_TIMEOUT": 5,
            "DELIVERY_RETRY_BASE": 0.05, **extra}


def client_transport(client):
    """Deliver the fakes' callbacks through the Flask test client (the URL signed stays public)."""
    def send(url: str, body: bytes, headers: dict):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(headers)
        content_type = headers.pop("Content-Type", None)
        response = client.post(path, data=body, headers=headers, content_type=content_type)
        return response.status_code, response.get_data(as_text=True)
    return send


def send_alert(client, app, channels=("email", "sms"), lat=38.72, lon=-9.14) -> int:
    headers = api_headers(app)
    incident_id = post_incident(client, app, "Floods", lat=lat, lon=lon)
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers,
                        json={"channels": list(channels)}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return alert["id"]
