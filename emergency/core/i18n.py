"""Flask-Babel set-up: the language is the one asked for (?lang=), then the one chosen
in this browser, then the signed-in user's, then the browser's preference, then English."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel, get_locale

babel = Babel()
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # jobs and CLI: callers use force_locale for a person's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
        return asked
    if session.get("lang") in languages:
        return session["lang"]
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False) and current_user.language in languages:
        return current_user.language
    return request.accept_languages.best_match(languages) or "en"


def current_language() -> str:
    return str(get_locale() or "en")[:2]


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS),
    )

    @app.context_processor
    def _language():
        lang = current_language()
        return {"lang": lang, "other_lang": other_language(lang)}


def other_language(lang: str) -> str:
    """The second language of a bilingual message whose first is `lang` (anything else: English first)."""
    return "fr" if lang == "en" else "en"
