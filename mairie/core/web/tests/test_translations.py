"""The English catalogue is complete, consistent with its source, and compiled
(docs/decisions/0020-compiled-translations-committed.md)."""

import ast
import gettext
import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[3] / "locale" / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%|\{\w*\}")


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": ""}
        key = None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["flags"] += line[2:]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                entry[key] += ast.literal_eval(line)
            else:
                key, _, value = line.partition(" ")
                entry[key] = ast.literal_eval(value)
        if entry.get("msgid"):
            entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def entries():
    return read_po(LOCALE / "django.po")


def _translations(entry) -> list[str]:
    if "msgid_plural" in entry:
        return [v for k, v in entry.items() if k.startswith("msgstr[")]
    return [entry["msgstr"]]


def test_every_string_is_translated_and_none_is_fuzzy(entries):
    assert len(entries) > 300
    untranslated = [e["msgid"] for e in entries if not all(_translations(e))]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == [], "run `make messages` and translate these entries"
    assert fuzzy == [], "check these fuzzy translations and remove the flag"


def test_translations_keep_their_placeholders(entries):
    wrong = []
    for entry in entries:
        expected = sorted(PLACEHOLDER.findall(entry["msgid"]))
        if "msgid_plural" in entry:
            # Each plural form uses some of the placeholders of the singular and plural ids.
            allowed = set(expected) | set(PLACEHOLDER.findall(entry["msgid_plural"]))
            wrong += [(entry["msgid"], text) for text in _translations(entry)
                      if not set(PLACEHOLDER.findall(text)) <= allowed]
        elif sorted(PLACEHOLDER.findall(entry["msgstr"])) != expected:
            wrong.append((entry["msgid"], entry["msgstr"]))
    assert wrong == []


def test_compiled_catalogue_matches_the_source(entries):
    with open(LOCALE / "django.mo", "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    for entry in entries:
        key = (entry["msgctxt"] + "\x04" if "msgctxt" in entry else "") + entry["msgid"]
        if "msgid_plural" in entry:
            for index, text in enumerate(_translations(entry)):
                assert catalogue.get((key, index)) == text, entry["msgid"]
        else:
            assert catalogue.get(key) == entry["msgstr"], (
                f"django.mo is out of date for {entry['msgid']!r}: run compilemessages")
    compiled_ids = {k[0] if isinstance(k, tuple) else k for k in catalogue} - {""}
    source_ids = {(e["msgctxt"] + "\x04" if "msgctxt" in e else "") + e["msgid"]
                  for e in entries}
    assert compiled_ids == source_ids
