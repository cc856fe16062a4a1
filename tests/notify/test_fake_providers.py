"""The local fakes refuse what the real APIs refuse, so tests against them mean something."""
import json
import urllib.error
import urllib.request

import pytest

from devtools.fake_providers import validate_mail

GOOD = {"personalizations": [{"to": [{"email": "a@example.org"}]}], "from": {"email": "f@example.org"},
        "subject": "s", "content": [{"type": "text/plain", "value": "t"}]}


def post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_well_formed_mail_is_valid():
    assert validate_mail(GOOD) == []


@pytest.mark.parametrize("change", [
    {"personalizations": []},
    {"personalizations": [{"to": []}]},
    {"personalizations": [{"to": [{"email": "a@example.org"}]}, {"to": [{"email": "A@example.org"}]}]},
    {"personalizations": [{"to": [{"email": "a@example.org"}], "custom_args": {"delivery_id": 1}}]},
    {"from": {"email": "nobody"}},
    {"subject": None},
    {"content": []},
    {"content": [{"type": "text/html", "value": "h"}, {"type": "text/plain", "value": "t"}]},
    {"mail_settings": {"sandbox_mode": {"enable": "true"}}},
    {"personalizations": [{"to": [{"email": f"p{i}@example.org"}]} for i in range(1001)]},
])
def test_malformed_mail_is_refused(change):
    assert validate_mail({**GOOD, **change})


def test_fake_sendgrid_answers_202_with_a_message_id(fake_sendgrid):
    status, headers, _ = post(fake_sendgrid.base_url + "/v3/mail/send", json.dumps(GOOD).encode(),
                              {"Authorization": "Bearer SG.test-key", "Content-Type": "application/json"})
    assert status == 202 and headers["X-Message-Id"] == fake_sendgrid.message_ids[0]


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "SG.test-key"])
def test_fake_sendgrid_requires_the_bearer_key(fake_sendgrid, auth):
    headers = {"Authorization": auth} if auth else {}
    status, _, _ = post(fake_sendgrid.base_url + "/v3/mail/send", json.dumps(GOOD).encode(), headers)
    assert status == 401 and fake_sendgrid.mails == []


def test_fake_sendgrid_refuses_invalid_json(fake_sendgrid):
    status, _, body = post(fake_sendgrid.base_url + "/v3/mail/send", b"{not json",
                           {"Authorization": "Bearer SG.test-key"})
    assert status == 400 and "errors" in json.loads(body)


def test_injected_failures_last_for_the_given_number_of_calls(fake_sendgrid):
    fake_sendgrid.fail_next(2, status=500)
    statuses = [post(fake_sendgrid.base_url + "/v3/mail/send", json.dumps(GOOD).encode(),
                     {"Authorization": "Bearer SG.test-key"})[0] for _ in range(3)]
    assert statuses == [500, 500, 202]


def test_fake_twilio_refuses_another_accounts_path(fake_twilio):
    import base64

    auth = base64.b64encode(f"{fake_twilio.account_sid}:{fake_twilio.auth_token}".encode()).decode()
    status, _, body = post(fake_twilio.base_url + "/2010-04-01/Accounts/ACother/Messages.json",
                           b"To=%2B33612345678&From=%2B15005550006&Body=hi",
                           {"Authorization": "Basic " + auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and json.loads(body)["code"] == 20003


@pytest.mark.parametrize("form, code", [
    ("From=%2B15005550006&Body=hi", 21604), ("To=%2B33612345678&Body=hi", 21603),
    ("To=%2B33612345678&From=%2B15005550006", 21602), ("To=0612&From=%2B15005550006&Body=hi", 21211),
    ("To=%2B33612345678&From=%2B15005550006&Body=" + "x" * 1601, 21617),
])
def test_fake_twilio_refuses_incomplete_messages(fake_twilio, form, code):
    import base64

    auth = base64.b64encode(f"{fake_twilio.account_sid}:{fake_twilio.auth_token}".encode()).decode()
    status, _, body = post(f"{fake_twilio.base_url}/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json",
                           form.encode(), {"Authorization": "Basic " + auth})
    assert status == 400 and json.loads(body)["code"] == code
    assert fake_twilio.messages == []
