"""Telling what a file *is* from its bytes, never from its name or the browser's word.

Binary formats are recognised by their signature (the `filetype` library reads the first 8 KiB).
Text has no signature, so the sniffer watches the whole stream: text is what decodes as UTF-8
(or Windows-1252, which Excel still writes for French CSV files) without control characters.
Text that starts like markup is classified as HTML, SVG or XML so that it can be refused: a
browser would happily run the scripts in it.
"""

from __future__ import annotations

import codecs
import csv
import io

import filetype
from django.utils.translation import gettext_lazy as _

SIGNATURE_BYTES = 8192
UNKNOWN = "application/octet-stream"

# Bytes that never occur in text: C0 controls other than tab, line feed, form feed and carriage
# return, and DEL. The five bytes Windows-1252 leaves undefined rule out that encoding only
# (they are ordinary continuation bytes in UTF-8).
_CONTROL_BYTES = bytes(sorted(
    [b for b in range(0x20) if b not in (0x09, 0x0A, 0x0C, 0x0D)] + [0x7F]))
_CP1252_UNDEFINED = bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D])

_LABELS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/gif": "GIF",
    "image/heic": "HEIC",
    "image/tiff": "TIFF",
    "image/svg+xml": "SVG",
    "text/plain": _("texte"),
    "text/csv": "CSV",
    "text/html": "HTML",
    "application/xml": "XML",
    "application/zip": "ZIP",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
    "application/vnd.oasis.opendocument.presentation": "ODP",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PPTX",
    "application/msword": "DOC",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.ms-powerpoint": "PPT",
    "application/x-msdownload": _("EXE (programme Windows)"),
    "application/x-executable": _("programme exécutable"),
    UNKNOWN: _("inconnu"),
}


def type_label(content_type: str) -> str:
    """A short name a resident recognises ("PDF", "JPEG"), for messages and help texts."""
    label = _LABELS.get(content_type)
    if label is not None:
        return str(label)
    kind = filetype.get_type(mime=content_type)
    return kind.extension.upper() if kind is not None else content_type


class ContentSniffer:
    """Fed the file chunk by chunk (while it is hashed), then says what the content is."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._is_text = True
        self._is_utf8 = True
        self._is_cp1252 = True

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < SIGNATURE_BYTES:
            self._head += chunk[: SIGNATURE_BYTES - len(self._head)]
        if not self._is_text:
            return
        # bytes.translate with a delete table is the fastest way to spot a forbidden byte.
        if len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk):
            self._is_text = False
            return
        if self._is_cp1252 and len(chunk.translate(None, _CP1252_UNDEFINED)) != len(chunk):
            self._is_cp1252 = False
        if self._is_utf8:
            try:
                self._utf8.decode(chunk)
            except UnicodeDecodeError:
                self._is_utf8 = False
        if not (self._is_utf8 or self._is_cp1252):
            self._is_text = False

    def content_type(self) -> str:
        head = bytes(self._head)
        kind = filetype.guess(head) if head else None
        if kind is not None:
            return kind.mime
        if self._is_utf8:
            try:
                self._utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                self._is_utf8 = False
        if not head or not self._is_text or not (self._is_utf8 or self._is_cp1252):
            return UNKNOWN
        encoding = "utf-8" if self._is_utf8 else "cp1252"
        return classify_text(head.decode(encoding, errors="ignore"))


_MARKUP_HINTS = ("<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<meta",
                 "<object", "<embed", "<img", "<svg", "<a ", "<div", "<style", "<link",
                 "<title", "<form", "<table", "<p>", "<!--")


def classify_text(text: str) -> str:
    """Plain text, CSV, or markup (HTML/SVG/XML) that must not be served as a document."""
    start = text.lstrip("\ufeff \t\r\n").lower()
    sample = start[:SIGNATURE_BYTES]
    if "<svg" in sample and (start.startswith(("<?xml", "<svg", "<!doctype svg"))):
        return "image/svg+xml"
    if start.startswith("<?xml"):
        return "application/xml"
    if any(hint in sample for hint in ("<script", "<iframe", "<!doctype html", "<html")):
        return "text/html"
    if start.startswith("<") and any(start.startswith(hint) for hint in _MARKUP_HINTS):
        return "text/html"
    if looks_like_csv(text):
        return "text/csv"
    return "text/plain"


def looks_like_csv(text: str) -> bool:
    """At least two complete lines that split into the same number (>1) of fields."""
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end in the middle of a line
    lines = [line for line in lines[:50] if line.strip()]
    if len(lines) < 2:
        return False
    for delimiter in (";", ",", "\t"):
        try:
            widths = {len(row) for row in csv.reader(io.StringIO("\n".join(lines)),
                                                        delimiter=delimiter)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() > 1:
            return True
    return False


def format_size(size: int) -> str:
    """French-style size with binary units, as a file manager shows it: "10 Mo", "1,5 Mo"."""
    for unit, factor in (("Go", 1024**3), ("Mo", 1024**2), ("Ko", 1024)):
        if size >= factor:
            value = round(size / factor, 1)
            text = f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
            return f"{text} {unit}"
    return f"{size} octets"


def french_list(items: list[str]) -> str:
    """["PDF", "JPEG", "PNG"] → "PDF, JPEG et PNG"."""
    items = [str(item) for item in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " " + str(_("et")) + " " + items[-1]
