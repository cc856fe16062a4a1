"""Errors raised by the registry, carrying English message templates the web layer translates.

The registry has no Flask, so it cannot call gettext itself. Messages are marked with the
no-op `common.i18n.N_` (extract with Babel's `-k N_`) and travel with their parameters; the caller does
`gettext(error.message) % error.params` in the user's language (see `FieldError.render`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from common.i18n import N_


def _fill(message: str, params: dict[str, Any]) -> str:
    try:
        return message % params
    except (KeyError, TypeError, ValueError):
        return message


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one form field. `field` matches the form's field name
    (`email`, `phone`, `stops-0-country`, `stops-1-departure`, ...) so the page can show the
    message next to the right input."""

    field: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        """The message with its parameters filled in, translated by `gettext` if given."""
        template = gettext(self.message) if gettext else self.message
        return _fill(template, self.params)

    def prefixed(self, prefix: str) -> "FieldError":
        """The same error for a field nested under `prefix` (e.g. `stops-0-`)."""
        return FieldError(prefix + self.field, self.message, self.params)

    def __str__(self) -> str:
        return f"{self.field}: {self.render()}"


class ValidationFailed(ValueError):
    """Input was refused; `errors` lists every field that is wrong, not just the first.

    `message`/`params` summarise it for places that show one line (flash messages, the CLI).
    """

    message = N_("Please correct the highlighted fields.")

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        self.params: dict[str, Any] = {}
        super().__init__("; ".join(str(e) for e in self.errors) or self.message)

    @classmethod
    def single(cls, field_name: str, message: str, **params: Any) -> "ValidationFailed":
        return cls([FieldError(field_name, message, params)])

    @property
    def fields(self) -> set[str]:
        return {e.field for e in self.errors}

    def for_field(self, field_name: str) -> list[FieldError]:
        return [e for e in self.errors if e.field == field_name]

    def as_dict(self, gettext: Callable[[str], str] | None = None) -> dict[str, list[str]]:
        """`{field: [message, ...]}` ready for a form or a JSON error body."""
        out: dict[str, list[str]] = {}
        for e in self.errors:
            out.setdefault(e.field, []).append(e.render(gettext))
        return out


class ImportFileError(ValueError):
    """The import file as a whole cannot be read (bad header, empty file, not CSV).
    Nothing is imported when this is raised."""

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(_fill(message, params))
