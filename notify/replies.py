"""What a traveller's SMS reply means: safe, needs help, opt out, opt in, or unknown.

Travellers answer in English or French, in any case, with or without accents and
punctuation, from phones that autocorrect ("Oui." "ok!" "Arrêt"). A reply we cannot read
with confidence returns None so a person reads it: a wrong "safe" is worse than a slow one.

Rules:
- the whole reply is a keyword → that keyword's intent (opt-out and opt-in only this way,
  as carriers do: "stop sending me these" is for a human to read);
- otherwise, the first word is a safe or help keyword → that intent, unless a later word
  says the opposite ("oui mais j'ai besoin d'aide"), which goes to a human;
- a help word first always wins ("SOS I'm ok but trapped" needs a person anyway).
"""
from __future__ import annotations

import re
import unicodedata

SAFE, NEED_HELP, OPT_OUT, OPT_IN = "safe", "need_help", "opt_out", "opt_in"

KEYWORDS: dict[str, str] = {
    **{w: SAFE for w in ("1", "safe", "sauf", "ok", "okay", "yes", "oui")},
    **{w: NEED_HELP for w in ("2", "help", "aide", "sos")},
    # Twilio's default opt-out words plus French ARRET/ARRÊT (Twilio does not know them).
    **{w: OPT_OUT for w in ("stop", "stopall", "unsubscribe", "end", "quit", "cancel",
                             "revoke", "optout", "arret")},
    **{w: OPT_IN for w in ("start", "unstop")},
}
# Words that, later in a reply starting with "safe", mean the reply is not simply safe.
_HELP_WORDS = frozenset({"help", "aide", "sos", "besoin", "need", "urgent", "urgence",
                         "blesse", "injured", "hurt", "danger", "pas", "not", "no", "non"})

_WORD = re.compile(r"[a-z0-9]+")


def normalize(body: str) -> str:
    """Lower case, accents removed, surrounding spaces and punctuation dropped."""
    text = unicodedata.normalize("NFKD", body or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return re.sub(r"^[\W_]+|[\W_]+$", "", text)


def parse_reply(body: str | None) -> str | None:
    """The intent of an SMS reply ('safe', 'need_help', 'opt_out', 'opt_in') or None."""
    text = normalize(body or "")
    if not text:
        return None
    if text in KEYWORDS:
        return KEYWORDS[text]
    words = _WORD.findall(text)
    if not words:
        return None
    first = KEYWORDS.get(words[0])
    if first == NEED_HELP:
        return NEED_HELP
    if first == SAFE:
        rest = words[1:]
        if any(w in _HELP_WORDS or KEYWORDS.get(w) == NEED_HELP for w in rest):
            return None
        return SAFE
    return None
