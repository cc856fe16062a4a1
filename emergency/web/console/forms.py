"""Console forms (Flask-WTF): field layout, CSRF and the simple "is it filled in" checks.

Anything that needs domain knowledge — is this zone valid, does this window make sense,
may this alert be sent — is decided by the service modules (`incidents`, `alerts`), so the
same rules hold for the console and the JSON API. The forms only collect the text.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

ZONE_KINDS = ("draw", "upload", "text", "countries", "circle")
CHANNELS = ("email", "sms")


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=500)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class CodeForm(FlaskForm):
    """A 6-digit code from an authenticator app (TOTP)."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=12)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True})


class CapUploadForm(FlaskForm):
    """A CAP 1.2 message (an .xml or .cap file) that opens or updates a draft incident."""

    cap_file = FileField(_l("CAP message"), render_kw={"accept": ".xml,.cap,application/cap+xml,application/xml,text/xml"})


class PostForm(FlaskForm):
    """A button-only form (logout, approve, send, close): it carries the CSRF token."""


class IncidentForm(FlaskForm):
    """A new incident: a title, a window in UTC and a zone given one of three ways."""

    title = StringField(_l("Title (English)"), validators=[DataRequired(), Length(max=200)], render_kw={"lang": "en"})
    title_fr = StringField(_l("Title (French, optional)"), validators=[Optional(), Length(max=200)], render_kw={"lang": "fr"})
    # Text, not datetime-local: Chromium writes a datetime-local input in the browser's own
    # locale whatever the page's lang (an English browser shows mm/dd/yyyy on the French
    # page), so the page gives the format in its language and the view reads both orders.
    starts_at = StringField(_l("Start (UTC)"), validators=[Optional()],
                            render_kw={"inputmode": "numeric", "autocomplete": "off"})
    ends_at = StringField(_l("End (UTC, optional)"), validators=[Optional()],
                          render_kw={"inputmode": "numeric", "autocomplete": "off"})
    zone_kind = RadioField(
        _l("Zone"), default="draw",
        choices=[SelectChoice("draw", _l("Draw on the map")), SelectChoice("upload", _l("Upload a file")),
                 SelectChoice("text", _l("WKT or CAP text")), SelectChoice("countries", _l("Countries")),
                 SelectChoice("circle", _l("Circle"))],
    )
    zone_geojson = HiddenField()
    zone_file = FileField(_l("Zone file"), render_kw={
        "accept": ".geojson,.json,.kml,.zip,.gpkg,application/geo+json,application/json"})
    lat = StringField(_l("Latitude"), render_kw={"inputmode": "decimal"})
    lon = StringField(_l("Longitude"), render_kw={"inputmode": "decimal"})
    radius_km = StringField(_l("Radius (km)"), render_kw={"inputmode": "decimal"})


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AlertForm(FlaskForm):
    """A bilingual alert: both languages are always written, side by side."""

    kind = SelectField(
        _l("Kind of message"),
        choices=[SelectChoice("safety_check", _l("Safety check (asks for an answer)")),
                 SelectChoice("information", _l("Information (no answer requested)")),
                 SelectChoice("all_clear", _l("All clear (incident over)"))],
        default="safety_check",
    )
    subject_en = StringField(_l("Subject (English)"), validators=[DataRequired(), Length(max=200)])
    subject_fr = StringField(_l("Subject (French)"), validators=[DataRequired(), Length(max=200)])
    body_en = TextAreaField(_l("Email (English)"), validators=[DataRequired()], render_kw={"rows": 8})
    body_fr = TextAreaField(_l("Email (French)"), validators=[DataRequired()], render_kw={"rows": 8})
    sms_en = TextAreaField(_l("SMS (English)"), validators=[DataRequired(), Length(max=1600)],
                           render_kw={"rows": 4, "data-sms-counter": "sms-en-count"})
    sms_fr = TextAreaField(_l("SMS (French)"), validators=[DataRequired(), Length(max=1600)],
                           render_kw={"rows": 4, "data-sms-counter": "sms-fr-count"})
    channels = MultiCheckboxField(
        _l("Channels"), choices=[SelectChoice("email", _l("Email")), SelectChoice("sms", _l("SMS"))],
        default=list(CHANNELS), validators=[DataRequired(message=_l("Choose at least one channel."))],
    )

    def texts(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("subject_en", "subject_fr", "body_en", "body_fr", "sms_en", "sms_fr")}


class FollowupPlanForm(FlaskForm):
    """An incident's follow-up plan. Numbers stay text here: `services.followup` checks them
    (whole numbers, allowed range), so the console and the API refuse the same values."""

    delay_minutes = StringField(_l("Minutes before asking again"), validators=[DataRequired()],
                                render_kw={"inputmode": "numeric"})
    max_rounds = StringField(_l("Rounds to travellers"), validators=[DataRequired()],
                             render_kw={"inputmode": "numeric"})
    tell_contacts = BooleanField(_l("Then ask their emergency contact (with the traveller's consent)"))


class ReplyForm(FlaskForm):
    """The outbox's "simulate a reply" box: what the traveller would text back."""

    body = StringField(_l("Reply text"), validators=[DataRequired(), Length(max=1600)])
