"""Emails to one traveller about their own record, rendered: registration confirmation,
sign-in link, "someone tried to register with your address", and "your registration was
changed". The traveller's language comes first, the other language below.

The jobs that send them are in `emergency.jobs.traveller_mail`.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from emergency.core.i18n import other_language
from emergency.services import signin
from emergency.services.advisories import LEVEL_COLOURS, LEVEL_LABELS, advisory_for
from geo import countries
from notify.providers.base import EmailBatch, EmailRecipient
from notify.segments import gsm_safe
from registry.models import Traveller

KINDS = ("registered", "signin", "already_registered", "changed")
CHANGES = ("contacts", "trip_added", "trip_cancelled", "back_home")


def trip_lines(traveller: Traveller, lang: str) -> list[str]:
    """One line per stop, in `lang`: country — place (address): arrival → departure."""
    lines = []
    for trip in traveller.trips:
        for stop in trip.stops:
            where = countries.country_name(stop.country, lang) or stop.country
            if stop.place:
                where = f"{where} — {stop.place}"
            if stop.address:
                where = f"{where} ({stop.address})"
            until = stop.departure.isoformat() if stop.departure else _("no return date yet")
            lines.append(f"{where}: {stop.arrival.isoformat()} → {until}")
    return lines


def advisory_items(traveller: Traveller, lang: str) -> list[dict]:
    """The travel advisory of each destination country that has one."""
    items, seen = [], set()
    for trip in traveller.trips:
        for stop in trip.stops:
            if stop.country in seen:
                continue
            seen.add(stop.country)
            advisory = advisory_for(stop.country)
            if advisory is None:
                continue
            label = str(LEVEL_LABELS.get(advisory.level, advisory.level))
            name = countries.country_name(stop.country, lang) or stop.country
            updated = advisory.updated_on
            items.append({
                "title": f"{name}: {label}",
                "text": getattr(advisory, f"text_{lang}", "") or "",
                "updated": _("Updated on %(date)s", date=updated.isoformat()) if updated else "",
                "colour": LEVEL_COLOURS.get(advisory.level, "#1d4f91"),
            })
    return items


def _manage_url(lang: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/my?lang={lang}"


def section(traveller: Traveller, kind: str, lang: str, link: str | None = None,
            change: str | None = None) -> dict:
    """The words of one message kind in `lang` (called inside `force_locale(lang)`)."""
    minutes = max(1, signin.max_age() // 60)
    s = {"lang": lang, "paragraphs": [], "link": None, "link_label": "", "trips": [],
         "trips_heading": _("Your trips"), "advisories": [],
         "advisories_heading": _("Travel advice for your destinations"),
         "footer": [_("If you need urgent help abroad, contact the nearest embassy or consulate.")]}
    if kind == "registered":
        s["subject"] = _("Your trip is registered")
        s["heading"] = _("Thank you, %(name)s, you are registered", name=traveller.given_name)
        s["paragraphs"] = [_("We will contact you by email or text message if an emergency "
                             "happens where you are travelling.")]
        s["link"], s["link_label"] = _manage_url(lang), _("Change or delete your registration")
        s["trips"] = trip_lines(traveller, lang)
        s["advisories"] = advisory_items(traveller, lang)
    elif kind == "signin":
        s["subject"] = _("Your sign-in link")
        s["heading"] = _("Your sign-in link")
        s["paragraphs"] = [_("Open this link to see and change your registration. It works "
                             "once and expires in %(minutes)d minutes.", minutes=minutes)]
        s["link"], s["link_label"] = link, _("Sign in")
        s["footer"].insert(0, _("If you did not ask for this link, ignore this email: "
                                "nothing changes."))
    elif kind == "already_registered":
        s["subject"] = _("You are already registered")
        s["heading"] = _("You are already registered")
        s["paragraphs"] = [_("Someone, probably you, tried to register again with this email "
                             "address. Your registration is unchanged. To add a trip or change "
                             "your details, use this link (it works once and expires in "
                             "%(minutes)d minutes).", minutes=minutes)]
        s["link"], s["link_label"] = link, _("Manage your trips")
        s["footer"].insert(0, _("If it was not you, ignore this email: nothing changes."))
    elif kind == "changed":
        s["subject"] = _("Your registration was updated")
        s["heading"] = _("Your registration was updated")
        what = {
            "contacts": _("Your contact details were changed."),
            "trip_added": _("A trip was added."),
            "trip_cancelled": _("A trip was cancelled."),
            "back_home": _("You told us you are back home: your current trip has ended."),
        }.get(change or "", _("Your registration was changed."))
        s["paragraphs"] = [what]
        s["trips"] = trip_lines(traveller, lang)
        s["link"], s["link_label"] = _manage_url(lang), _("Change or delete your registration")
        s["footer"].insert(0, _("If you did not make this change, ask for a sign-in link and "
                                "check your registration."))
    else:
        raise ValueError(f"unknown message kind {kind!r}")
    return s


def reading_order(language: str | None) -> tuple[str, str]:
    """The two languages of a message to one person: theirs first (English when unknown)."""
    first = language if language in ("en", "fr") else "en"
    return first, other_language(first)


def bilingual_sms(language: str | None, make_text) -> str:
    """One SMS to one person: `make_text(lang)` in their language, then the other, in GSM-7
    (a French accent outside it would make every segment shorter)."""
    parts = []
    for lang in reading_order(language):
        with force_locale(lang):
            parts.append(make_text(lang))
    return gsm_safe("\n\n".join(parts))


def code_section(lang: str, *, subject: str, heading: str, paragraph: str, not_you: str) -> dict:
    """The section of an email that carries a one-time code (already translated texts): no
    link, trips or advisories; `not_you` tells a person who did not ask what to do."""
    return {
        "lang": lang, "subject": subject, "heading": heading, "paragraphs": [paragraph],
        "link": None, "link_label": "", "trips": [], "trips_heading": "", "advisories": [],
        "advisories_heading": "",
        "footer": [not_you, _("If you need urgent help abroad, contact the nearest embassy or consulate.")],
    }


def bilingual_email(language: str | None, to: str, make_section) -> EmailBatch:
    """One email to one person, no substitutions: the section `make_section(lang)` builds, in
    `language` first (English when unknown), then in the other language below it."""
    first, other = reading_order(language)
    sections = []
    for lang in (first, other):
        with force_locale(lang):
            s = make_section(lang)
            s["text"] = render_template("email/traveller_section.txt", s=s)
            s["html"] = render_template("email/traveller_section.html", s=s)
        sections.append(s)
    subject = f"{sections[0]['subject']} / {sections[1]['subject']}"
    text = "\n\n----------------------------------------\n\n".join(s["text"] for s in sections)
    html = render_template("email/bilingual.html", sections=sections, subject=subject, lang=first)
    return EmailBatch(language=first, subject=subject, text=text, html=html,
                      recipients=[EmailRecipient(None, to, {})])


def render_message(traveller: Traveller, kind: str, link: str | None = None,
                   change: str | None = None) -> EmailBatch:
    """The whole email to the traveller about their record, own language first."""
    return bilingual_email(traveller.language, traveller.email,
                           lambda lang: section(traveller, kind, lang, link=link, change=change))
