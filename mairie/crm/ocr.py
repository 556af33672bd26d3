"""Reading the text of a scanned document with Tesseract (decision 0469).

The `tesseract` binary of Debian's `tesseract-ocr` package (with `tesseract-ocr-fra` for
French) is run directly: in one run it writes both a searchable PDF — the image with an
invisible text layer — and the plain text. Images (JPEG, PNG, TIFF, several pages included)
go to it as they are. A PDF either has text already (a scanner that reads, a document
printed to PDF), which is taken as it is, or holds one picture per page, which is taken out
(`pypdf`, decision 0470) and read like an image.

Only files whose content was recognised on upload (`core.files`) come here: Tesseract takes a
text file for a list of images to open, so it must never be handed anything else.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

IMAGE_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif"}
READABLE_TYPES = frozenset({*IMAGE_SUFFIXES, "application/pdf"})
# A page of text has words: a blank page or a photo of nothing gives none, or stray marks.
_WORD = re.compile(r"[^\W\d_]{2,}")
MIN_WORDS_IN_PDF_TEXT = 3


class OcrUnavailable(Exception):
    """Tesseract, or the language asked for, is not installed."""


class Unreadable(Exception):
    """The document cannot be read: not a picture Tesseract opens, or no text on it."""


class OcrFailed(Exception):
    """Tesseract ran and failed (crash, timeout)."""


@dataclass(frozen=True)
class Reading:
    text: str
    pdf: bytes | None  # None when the original PDF already carries its text
    pages: int


def has_words(text: str) -> bool:
    return _WORD.search(text or "") is not None


def missing_reason() -> str | None:
    """Why documents cannot be read here (in English, for logs and operators), or None."""
    binary = settings.MAIRIE_TESSERACT
    if shutil.which(binary) is None:
        return f"Tesseract not found ({binary!r}): install tesseract-ocr and tesseract-ocr-fra"
    try:
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True,
                                timeout=30, env=_environment())
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Tesseract cannot run ({binary!r}): {exc}"
    known = set(listed.stdout.split())
    missing = [lang for lang in settings.MAIRIE_OCR_LANGUAGES.split("+") if lang not in known]
    if missing:
        return f"Tesseract has no {'+'.join(missing)} data: install tesseract-ocr-{missing[0]}"
    return None


def read_document(data: bytes, content_type: str) -> Reading:
    """The text of the document and its searchable PDF. Raises OcrUnavailable, Unreadable or
    OcrFailed."""
    if content_type not in READABLE_TYPES:
        raise Unreadable(f"type {content_type} is not read")
    with tempfile.TemporaryDirectory(prefix="mairie-ocr-") as folder:
        work = Path(folder)
        if content_type == "application/pdf":
            found = _pdf_text(data)
            if found is not None:
                return found
            source = _pdf_pictures(data, work)
        else:
            source = work / f"page{IMAGE_SUFFIXES[content_type]}"
            source.write_bytes(data)
        return _tesseract(source, work)


def _environment() -> dict[str, str]:
    # One thread per run: a worker reads one document at a time, the next one in parallel.
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def _tesseract(source: Path, work: Path) -> Reading:
    output = work / "out"
    command = [settings.MAIRIE_TESSERACT, str(source), str(output), "-l",
               settings.MAIRIE_OCR_LANGUAGES, "pdf", "txt"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=settings.MAIRIE_OCR_TIMEOUT, env=_environment(),
                              cwd=work)
    except FileNotFoundError as exc:
        raise OcrUnavailable(f"Tesseract not found ({settings.MAIRIE_TESSERACT!r})") from exc
    except PermissionError as exc:
        raise OcrUnavailable(f"Tesseract cannot run: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise OcrFailed(f"Tesseract took more than {settings.MAIRIE_OCR_TIMEOUT}s") from exc
    errors = done.stderr or ""
    if done.returncode != 0:
        if "Failed loading language" in errors or "couldn't load any languages" in errors:
            raise OcrUnavailable(
                f"Tesseract has no {settings.MAIRIE_OCR_LANGUAGES} data: install "
                f"tesseract-ocr-{settings.MAIRIE_OCR_LANGUAGES.split('+')[0]}")
        if re.search(r"pixRead|cannot be read|Unsupported image|truncated", errors):
            raise Unreadable("the picture cannot be opened")
        raise OcrFailed(f"Tesseract exited with {done.returncode}: {errors.strip()[-200:]}")
    text_file, pdf_file = output.with_suffix(".txt"), output.with_suffix(".pdf")
    if not text_file.exists() or not pdf_file.exists():
        raise OcrFailed("Tesseract wrote no output")
    raw = text_file.read_text(errors="replace")  # each page ends with a form feed
    text = "\n\n".join(page.strip() for page in raw.split("\f") if page.strip())
    if not has_words(text):
        raise Unreadable("no text found")
    return Reading(text=text, pdf=pdf_file.read_bytes(), pages=max(1, raw.count("\f")))


def _reader(data: bytes):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        reader.pages[0]  # noqa: B018  (reading the page tree finds a broken file)
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError, OSError) as exc:
        raise Unreadable("the PDF cannot be opened") from exc
    return reader


def _pdf_text(data: bytes) -> Reading | None:
    """The PDF's own text, when it has some (then nothing is read again)."""
    reader = _reader(data)
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    text = "\n\n".join(page for page in pages if page)
    if len(_WORD.findall(text)) < MIN_WORDS_IN_PDF_TEXT:
        return None
    return Reading(text=text, pdf=None, pages=len(pages))


def _pdf_pictures(data: bytes, work: Path) -> Path:
    """The largest picture of each page as a PNG at the page's resolution, listed in a file
    Tesseract reads page after page."""
    reader = _reader(data)
    paths = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            pictures = list(page.images)
        except Exception as exc:  # noqa: BLE001  (pypdf raises many kinds on broken streams)
            raise Unreadable(f"the pictures of page {number} cannot be read") from exc
        if not pictures:
            continue
        picture = max(pictures, key=lambda p: p.image.width * p.image.height
                      if p.image is not None else 0)
        if picture.image is None:
            continue
        width_points = float(page.mediabox.width) or 595.0
        dpi = max(72, round(picture.image.width / (width_points / 72)))
        path = work / f"page-{number:04d}.png"
        picture.image.convert("RGB").save(path, dpi=(dpi, dpi))
        paths.append(path)
    if not paths:
        raise Unreadable("the PDF has neither text nor pictures")
    listing = work / "pages.txt"
    listing.write_text("\n".join(str(path) for path in paths) + "\n")
    return listing
