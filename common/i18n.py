"""The marker of translatable text for code that cannot translate.

`geo`, `notify` and `registry` have no Flask, and some application modules define messages at
import time, before any request says which language is wanted. They mark the English text with
`N_` (extracted by Babel's `-k N_`) and keep it untranslated; the web layer calls `gettext` on
it later, in the reader's language.
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark `message` for translation without translating it (done later by the web layer)."""
    return message
