"""Errors raised by `geo`, carrying an English message template the web layer translates.

`geo` cannot import Flask-Babel, so messages are marked with the no-op `common.i18n.N_`
(extracted by Babel's `-k N_`) and travel with their parameters; the caller does
`gettext(err.message) % err.params` in the user's language.
"""
from __future__ import annotations

from typing import Any


class GeoError(ValueError):
    """Bad geographic input. `code` is stable for programs, `message` is for people."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        self.code = code
        self.message = message
        self.params = params
        super().__init__(self.__str__())

    def __str__(self) -> str:
        try:
            return self.message % self.params
        except (KeyError, TypeError, ValueError):
            return self.message

    def __repr__(self) -> str:
        return f"GeoError({self.code!r}, {str(self)!r})"
