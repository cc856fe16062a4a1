"""An alert's email batch mixes English and French travellers in one SendGrid request, and
each traveller still reads their own language first, with their own links."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from emergency.core.models import Alert
from notify.models import Delivery
from tests.emergency.provider_helpers import provider_config, send_alert, start_fakes


@pytest.fixture
def fakes():
    sendgrid, twilio = start_fakes()
    yield sendgrid, twilio
    sendgrid.stop()
    twilio.stop()


@pytest.fixture
def app_overrides(fakes):
    return provider_config(*fakes, EMAIL_BATCH_SIZE=1000)


def test_english_and_french_travellers_share_one_request_and_read_their_own_language_first(client, app, fakes, make_traveller):
    sendgrid, _ = fakes
    ids = {"zoe@example.org": make_traveller("Zoé", email="zoe@example.org", language="fr"),
           "ann@example.org": make_traveller("Ann", email="ann@example.org", language="en"),
           "luc@example.org": make_traveller("Luc", email="luc@example.org", language="fr")}
    alert_id = send_alert(client, app, channels=["email"])
    with app.app_context():
        from emergency.core.database import db_session

        alert = db_session().scalars(select(Alert).where(Alert.id == alert_id)).one()
        alert.incident_id  # loaded while the session is open
        texts = {lang: (getattr(alert, f"subject_{lang}"), getattr(alert, f"body_{lang}").split("\n")[0])
                 for lang in ("en", "fr")}
        # each email's links name the delivery that carried them
        deliveries = dict(db_session().execute(select(Delivery.recipient_id, Delivery.id).where(
            Delivery.campaign_id == alert_id, Delivery.channel == "email")).all())
    assert len(sendgrid.mails) == 1 and len(sendgrid.rendered) == 3
    read = {m["to"]: m for m in sendgrid.rendered}
    for address, lang, other in (("zoe@example.org", "fr", "en"), ("ann@example.org", "en", "fr"),
                                 ("luc@example.org", "fr", "en")):
        message = read[address]
        own_subject, own_body = texts[lang]
        assert message["subject"].startswith(own_subject)
        text = message["text"]
        assert own_body in text and texts[other][1] in text
        assert text.index(own_body) < text.index(texts[other][1])
        with app.test_request_context():
            from emergency.services.safety_links import response_urls

            own = response_urls(alert.incident_id, ids[address], deliveries[ids[address]])
        assert own["safe_url"] in text and own["safe_url"] in message["html"]  # their own links
        assert "-safe_url-" not in text and "-body_text-" not in (message["html"] or "")
