"""The case page's forms (Flask-WTF, with CSRF): one per action, each with its own prefix so
their fields keep distinct names and ids on the one page. The choices that depend on the
case (statuses it may take, officers) are filled in by the view; what a value may be is
decided by `services.cases`, so the API refuses the same things."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from emergency.services.cases import NOTE_MAX

PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
CASE_STATUS_LABELS = {"new": _l("New"), "in_progress": _l("In progress"), "resolved": _l("Resolved"),
                      "closed": _l("Closed")}
METHOD_LABELS = {"phone": _l("Phone call"), "sms": _l("SMS"), "email": _l("Email")}
OUTCOME_LABELS = {"reached": _l("Reached"), "no_answer": _l("No answer"), "left_message": _l("Left a message"),
                  "wrong_number": _l("Wrong number or address"), "failed": _l("Could not be sent")}
ANSWER_LABELS = {"safe": _l("Safe"), "need_help": _l("Needs help")}


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class CaseStatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=[], validators=[DataRequired()])


class CaseAssignForm(FlaskForm):
    # "" is nobody; the view adds the officers.
    assignee = SelectField(_l("Officer"), choices=[])


class CasePriorityForm(FlaskForm):
    priority = SelectField(_l("Priority"), choices=_choices(PRIORITY_LABELS), validators=[DataRequired()])


class CaseNoteForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=NOTE_MAX)], render_kw={"rows": 3})


class CaseContactForm(FlaskForm):
    method = SelectField(_l("How"), choices=_choices(METHOD_LABELS), validators=[DataRequired()])
    outcome = SelectField(_l("Outcome"), choices=_choices(OUTCOME_LABELS), validators=[DataRequired()])
    note = TextAreaField(_l("Details (optional)"), validators=[Optional(), Length(max=NOTE_MAX)],
                         render_kw={"rows": 2})


class PhoneAnswerForm(FlaskForm):
    # "" is the traveller; the view adds their companions. Which ids are acceptable is the
    # service's to say (`phone_answers`), so the choice is not checked here.
    person = SelectField(_l("For"), choices=[], validate_choice=False)
    status = RadioField(_l("They say they are"), choices=_choices(ANSWER_LABELS),
                        validators=[DataRequired()])
    message = TextAreaField(_l("What they said (optional)"), validators=[Optional(), Length(max=NOTE_MAX)],
                            render_kw={"rows": 2})


FORMS = {"status": CaseStatusForm, "assign": CaseAssignForm, "priority": CasePriorityForm,
         "note": CaseNoteForm, "contact": CaseContactForm, "answer": PhoneAnswerForm}


def person_choices(traveller) -> list[tuple[str, str]]:
    """Whom an officer may record an answer for: the traveller ("") and each companion on
    their registration (by id)."""
    return [("", traveller.full_name)] + [(str(c.id), f"{c.given_name} {c.family_name}")
                                          for c in traveller.companions]


def companion_choice(value: str | None):
    """The companion id a `person` field names: None for the traveller, an int for a
    companion, or the raw text (which the service refuses) when it is neither."""
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value


def action_form(name: str, blank: bool = False) -> FlaskForm:
    """The action form `name`, under its own prefix; `blank` ignores the request's data (the
    page shows empty forms whatever was posted last)."""
    return FORMS[name](prefix=name, **({"formdata": None} if blank else {}))
