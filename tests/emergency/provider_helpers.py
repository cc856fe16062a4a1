"""Helpers for app tests against the fake SendGrid and Twilio."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

from devtools.fake_providers import FakeSendGrid, FakeTwilio
from tests.conftest import api_headers

PUBLIC = "https://consular.test"
SID, TOKEN, KEY = "AC" + "5" * 32, "fake-twilio-token", "SG.fake-key"
TODAY = date.today()


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


def register(client, app, name, email, phone, language, country="PT", place="Lisbon"):
    response = client.post("/api/v1/travellers", headers=api_headers(app), json={
        "given_name": name, "family_name": "Roy", "email": email, "phone": phone, "language": language,
        "stops": [{"country": country, "place": place, "arrival": (TODAY - timedelta(days=1)).isoformat(),
                   "departure": (TODAY + timedelta(days=3)).isoformat()}]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def send_alert(client, app, channels=("email", "sms"), lat=38.72, lon=-9.14) -> int:
    headers = api_headers(app)
    incident = client.post("/api/v1/incidents", headers=headers, json={
        "title": "Floods", "zone": {"circle": {"lat": lat, "lon": lon, "radius_km": 30}}}).get_json()
    alert = client.post(f"/api/v1/incidents/{incident['id']}/alerts", headers=headers,
                        json={"channels": list(channels)}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return alert["id"]
