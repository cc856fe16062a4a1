"""Hostile input stopped in one place, before any view sees it.

- Ids: every `<int:...>` in a URL is bounded to what the database's integer columns hold
  (PostgreSQL `integer`, 2^31 - 1). A bigger number cannot name a row, so it is a 404 like
  any other unknown id, instead of an overflow in the driver (SQLite refuses integers beyond
  2^63, PostgreSQL compares them as numeric). Negative and non-integer ids never match the
  converter, which is a 404 too.
- Query-string numbers (`page`, `per_page`, filters by id) go through `whole_number`: ASCII
  digits only (Python's int() also takes "²"-like digits, spaces and underscores), within
  the same bounds.
- JSON: deeply nested input makes Python's parser raise RecursionError, which is not the
  ValueError Flask turns into a 400. The application's JSON provider turns it into one, so
  `request.get_json()` (silent or not) treats a 100 000-level document like any other
  malformed body.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, ValidationError

MAX_ID = 2**31 - 1  # PostgreSQL `integer`, the type of every id column
_ASCII_DIGITS = frozenset("0123456789")


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` within 0..MAX_ID unless the rule asks for other bounds.

    Out of bounds is NotFound, raised here rather than werkzeug's ValidationError: the
    router has already matched the path by then, and a ValidationError would make it answer
    405 when another method of the same path exists (GET of a path that also takes POST)."""

    def __init__(self, url_map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


class NestingSafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with too-deep nesting refused as malformed JSON (a ValueError)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def whole_number(text: Any, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """`text` as an integer when it is ASCII digits (an optional leading minus) within
    [minimum, maximum]; None for anything else, including values that are not strings."""
    if not isinstance(text, str):
        return None
    digits = text[1:] if text.startswith("-") else text
    if not digits or len(digits) > 19 or not set(digits) <= _ASCII_DIGITS:
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: rules compile their converters when added."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = NestingSafeJSONProvider(app)
