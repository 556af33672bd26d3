"""French text for the index: accent folding, query terms, highlighted snippets.

Both backends index and query an accent-folded copy of the text ("École" → "ecole"), so that
"ecole" finds "École" on SQLite and on PostgreSQL alike, without PostgreSQL's `unaccent`
extension (which needs a superuser to install). Highlighting is done here in Python, on the
original text, so that snippets keep their accents whichever backend found them.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss",
                            "’": "'", "ʼ": "'"})
_WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 10
MAX_TERM_LENGTH = 40

# Words too common to narrow a search; dropped unless the query has nothing else.
STOP_WORDS = frozenset(
    "a au aux avec ce ces d dans de des du elle en et il je l la le les leur lui ma mais me "
    "mes mon n ne nos notre nous on ou par pas pour qu que qui s sa se ses son sur t ta te "
    "tes ton tu un une vos votre vous y".split())


def fold(text: str) -> str:
    """Lower case, without accents or ligatures: "Cœur de l'École" → "coeur de l'ecole"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def query_terms(text: str) -> list[str]:
    """The folded words of a query, stop words removed, at most MAX_TERMS."""
    words = [w[:MAX_TERM_LENGTH] for w in _WORD.findall(fold(text))]
    meaningful = [w for w in words if w not in STOP_WORDS and len(w) > 1]
    terms = meaningful or words
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def strip_plural(term: str) -> str:
    """"demarches" → "demarche": the plural mark most French words take (used as a prefix)."""
    if len(term) > 3 and term[-1] in "sx":
        return term[:-1]
    return term


def _stem(term: str) -> str:
    # Highlighting only: a prefix close to what the French stemmer keeps.
    term = strip_plural(term)
    return term if len(term) <= 4 else term[: max(4, len(term) - 2)]


def _matcher(terms: list[str]):
    stems = [_stem(t) for t in terms]

    def matches(word: str) -> bool:
        folded = fold(word)
        return any(folded.startswith(stem) for stem in stems)

    return matches


def highlight(text: str, terms: list[str]) -> SafeString:
    """`text` escaped, with the words matching `terms` wrapped in <mark>."""
    matches = _matcher(terms)
    parts, last = [], 0
    for found in _WORD.finditer(text):
        if matches(found.group()):
            parts.append(conditional_escape(text[last:found.start()]))
            parts.append(mark_safe(f"<mark>{conditional_escape(found.group())}</mark>"))
            last = found.end()
    parts.append(conditional_escape(text[last:]))
    return mark_safe("".join(parts))


def snippet(text: str, terms: list[str], *, length: int = 220) -> SafeString:
    """About `length` characters of `text` around the first matching word, highlighted."""
    text = " ".join(text.split())
    if len(text) <= length:
        return highlight(text, terms)
    matches = _matcher(terms)
    first = next((m.start() for m in _WORD.finditer(text) if matches(m.group())), 0)
    start = max(0, first - length // 4)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + length)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > first else end
    excerpt = highlight(text[start:end], terms)
    return mark_safe(("… " if start else "") + excerpt + (" …" if end < len(text) else ""))
