"""Finding a resident at the counter: folded words (no accents, no case), phone digits, and a
French phonetic key per name, so that "Lefebvre" finds "Lefèvre" and "Dupond" finds
"Dupont" (decision 0460)."""

from __future__ import annotations

import re

from mairie.core.search.text import fold

_LETTERS = re.compile(r"[^a-z]")
_WORDS = re.compile(r"[^\W_]+")
# Ordered rewrites of a folded word into how it sounds; the last ones drop what is not heard.
_SOUNDS = [
    (r"^h", ""), (r"sch", "ch"), (r"ph", "f"), (r"th", "t"), (r"gu([eiy])", r"g\1"),
    (r"qu", "k"), (r"q", "k"), (r"c([eiy])", r"s\1"), (r"ck", "k"), (r"ch", "#"), (r"c", "k"),
    (r"#", "ch"), (r"ç", "s"), (r"w", "v"), (r"y", "i"), (r"z", "s"), (r"bv", "v"),
    (r"([^cs])h", r"\1"), (r"aults?$", "o"), (r"eaux?", "o"), (r"au", "o"),
    (r"[ae]in", "in"), (r"(ai|ei)", "e"),
    (r"(er|ez|et)$", "e"), (r"ou", "u"), (r"oi", "wa"), (r"([ae])[nm]([^aeiou]|$)", r"an\2"),
    (r"(.)\1+", r"\1"), (r"(?<=.)[tdsxp]$", ""),
    (r"(?<=.)e$", ""),
]
_COMPILED = [(re.compile(pattern), repl) for pattern, repl in _SOUNDS]


def phonetic(word: str) -> str:
    """The French phonetic key of one word: "Lefèvre", "Lefebvre" → "lefevr"."""
    key = _LETTERS.sub("", fold(word).replace("ç", "s"))
    for pattern, repl in _COMPILED:
        key = pattern.sub(repl, key)
    return key


def words(text: str) -> list[str]:
    return [w for w in _WORDS.findall(fold(text or "")) if w]


def digits(text: str) -> str:
    """The national digits of a phone number: "+33 6 12 34 56 78" → "612345678"."""
    only = re.sub(r"\D", "", text or "")
    for prefix in ("0033", "33", "0041", "41", "0032", "32"):
        if only.startswith(prefix) and len(only) - len(prefix) in (8, 9):
            return only[len(prefix):]
    return only.lstrip("0")


def padded(tokens) -> str:
    """Space-padded tokens: " a b c ", so that " b" finds the start of a word."""
    unique = list(dict.fromkeys(t for t in tokens if t))
    return f" {' '.join(unique)} " if unique else ""
