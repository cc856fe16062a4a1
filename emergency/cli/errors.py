"""Errors of the command line: one line, in the user's language, exit code 1, no traceback.

The language comes from the locale environment (LC_ALL, then LC_MESSAGES, then LANG, as
POSIX orders them): `fr*` means French, anything else English. Messages are the English
templates of the Flask-Babel catalogue: inside a command, `i18n_errors.translate` renders
them under `force_locale`; before the app exists (no SECRET_KEY, a database that cannot be
opened) the same catalogue is read directly.
"""
from __future__ import annotations

import functools
import os
import re
from typing import Any, Mapping

import click
from babel.support import Translations
from flask import has_app_context
from flask_babel import force_locale

from emergency.core import i18n_errors
from emergency.core.i18n import TRANSLATIONS


def N_(message: str) -> str:
    """Mark a message for translation; `fail` translates it when it is shown."""
    return message


def user_language(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


class Message:
    """An English template and its values, shaped like the errors of geo and registry."""

    def __init__(self, message: str, /, **params: Any) -> None:
        self.message = message
        self.params = params


@functools.lru_cache(maxsize=4)
def _catalogue(language: str) -> Translations:
    return Translations.load(str(TRANSLATIONS), [language])


def localise(err) -> str:
    """`err` (anything with `message` and `params`) in the user's language, on one line."""
    language = user_language()
    if has_app_context():
        with force_locale(language):
            text = i18n_errors.translate(err)
    else:
        template = _catalogue(language).gettext(err.message)
        params = getattr(err, "params", None) or {}
        try:
            text = template % params if params else template
        except (KeyError, TypeError, ValueError):
            text = template
    return re.sub(r"[ \t]*[\r\n]+[ \t]*", " ", text).strip()  # one line; a non-breaking space stays


class CliError(click.ClickException):
    """A failed command: `Error: ...` (`Erreur : ...`) on stderr, exit code 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(localise(Message(N_("Error: %(message)s"), message=self.message)), file=file, err=True)


def fail(message: str, /, **params: Any) -> CliError:
    """The error to raise for one of the CLI's own messages (a template marked with N_)."""
    return CliError(localise(Message(message, **params)))


def failed(err) -> CliError:
    """The error to raise for a geo, registry or service error carrying `message`/`params`."""
    return CliError(localise(err))
