"""Turn errors raised by geo, registry and notify (English templates marked with N_)
into the user's language. The templates are in the Flask-Babel catalogue because
`pybabel extract` collects N_ markers from those packages too."""
from __future__ import annotations

from flask_babel import gettext


def translate(err) -> str:
    message = getattr(err, "message", None) or str(err)
    params = getattr(err, "params", None) or {}
    translated = gettext(message)
    try:
        return translated % params if params else translated
    except (KeyError, TypeError, ValueError):
        return translated
