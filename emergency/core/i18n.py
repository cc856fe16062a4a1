"""Flask-Babel set-up: the language is the one asked for (?lang=), then the one chosen
in this browser, then the signed-in user's, then the browser's preference, then English.

A signed-in user's stored language follows their last choice (the language switch, signed in
or before signing in), so a French reader who signs in on another browser or after their
session ends is not sent back to English; a browser's default language is not a choice."""
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


def remember_language(user, lang: str | None = None) -> None:
    """Store `lang` (default: this request's language) as `user`'s language if it changed."""
    lang = lang or current_language()
    if lang in current_app.config["LANGUAGES"] and getattr(user, "language", lang) != lang:
        from emergency.core.database import db_session

        user.language = lang
        db_session().commit()


def current_language() -> str:
    return str(get_locale() or "en")[:2]


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS),
    )

    @app.before_request
    def _follow_choice():
        asked = request.args.get("lang")
        if asked in app.config["LANGUAGES"] and request.blueprint and not request.path.startswith("/api/"):
            from flask_login import current_user

            if getattr(current_user, "is_authenticated", False):
                remember_language(current_user, asked)

    @app.context_processor
    def _language():
        lang = current_language()
        return {"lang": lang, "other_lang": other_language(lang)}


def other_language(lang: str) -> str:
    """The second language of a bilingual message whose first is `lang` (anything else: English first)."""
    return "fr" if lang == "en" else "en"
