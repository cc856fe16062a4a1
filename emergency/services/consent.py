"""The consent wording a traveller agrees to, with its version.

A record holds the version of the wording its owner accepted (`Traveller.consent_version`)
and the time (`consent_at`). When the wording changes, add a new entry to `WORDINGS` and move
`CONSENT_VERSION` to it: old records keep pointing at the text they actually saw, so the
ministry can always show what a given person agreed to.

The texts are kept here in both languages rather than in the translation catalogue on purpose:
a catalogue entry can be edited without anyone noticing, a versioned legal text must not.
"""
from __future__ import annotations

from emergency.core.i18n import other_language

CONSENT_VERSION = "2026-11"

WORDINGS: dict[str, dict[str, str]] = {
    "2026-11": {
        "en": (
            "I agree that the consular service keeps the information I give here to contact me, "
            "and the people I name, in an emergency abroad. It is used for nothing else and is "
            "shared only with the public authorities helping in that emergency. My records are "
            "deleted automatically 18 months after my last trip ends, and I can update or delete "
            "them myself at any time with a sign-in link sent to my email."
        ),
        "fr": (
            "J'accepte que le service consulaire conserve les renseignements que je donne ici "
            "pour me joindre, ainsi que les personnes que je désigne, en cas d'urgence à "
            "l'étranger. Ils ne servent à rien d'autre et ne sont communiqués qu'aux autorités "
            "publiques qui interviennent dans cette urgence. Mon dossier est supprimé "
            "automatiquement 18 mois après la fin de mon dernier voyage, et je peux le modifier "
            "ou le supprimer moi-même à tout moment grâce à un lien de connexion envoyé à mon "
            "adresse courriel."
        ),
    },
}


def consent_text(language: str = "en", version: str = CONSENT_VERSION) -> str:
    """The wording of `version` in `language` ('en' or 'fr'; anything else gets English).

    Raises KeyError for a version that never existed, so a typo cannot silently show
    the wrong legal text."""
    texts = WORDINGS[version]
    return texts.get(language, texts["en"])


def consent_texts(language: str = "en", version: str = CONSENT_VERSION) -> list[tuple[str, str]]:
    """Both languages, the reader's first: `[(lang, text), (other_lang, text)]`."""
    first = "fr" if language == "fr" else "en"
    other = other_language(first)
    return [(first, consent_text(first, version)), (other, consent_text(other, version))]
