"""What a service raises when it refuses a request: an English message template (marked
with N_, so it is in the catalogue) and its parameters, which the web layer and the CLI
render in the reader's language with `core.i18n_errors.translate`."""
from __future__ import annotations


class ServiceError(ValueError):
    """A refused action. `.message` is the untranslated template, `.params` fill it in,
    and `.field` names the form field or JSON member to blame, when there is one."""

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
        self.field = field
