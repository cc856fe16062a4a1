"""The message that carries a check-in code to the registered traveller: an SMS or an email,
their language first and the other below, like every message to a traveller. It says what
the code is for and that someone else may have used their contact, so a person who did not
check in knows to ignore it.

The job that sends it is in `emergency.jobs.checkin_codes`.
"""
from __future__ import annotations

from flask_babel import gettext as _

from emergency.services.checkin_codes import CODE_TTL
from emergency.services.traveller_mail import bilingual_email, bilingual_sms, code_section
from notify.providers.base import EmailBatch


def _minutes() -> int:
    return int(CODE_TTL.total_seconds() // 60)


def sms_body(code: str, language: str | None) -> str:
    return bilingual_sms(language, lambda lang: _(
        "Your code: %(code)s. Enter it on the check-in page to confirm your answer to the consulate. "
        "Not you? Ignore this message.", code=code))


def _section(code: str, lang: str) -> dict:
    return code_section(
        lang, subject=_("Your code to confirm your check-in"), heading=_("Your code: %(code)s", code=code),
        paragraph=_("Someone, probably you, checked in with this contact during an emergency and said "
                    "how you are. Enter this code on the check-in page to confirm that the answer "
                    "comes from you. It expires in %(minutes)d minutes.", minutes=_minutes()),
        not_you=_("If it was not you, ignore this email: your record and your answers are unchanged."))


def email_batch(code: str, language: str | None, to: str) -> EmailBatch:
    """The whole email, own language first; one recipient, no substitutions."""
    return bilingual_email(language, to, lambda lang: _section(code, lang))
