"""Handing a stored file to the browser, safely, in the way the deployment prefers.

- "django": stream it from the storage with `FileResponse` (the embedded default);
- "x-accel": an empty response whose `X-Accel-Redirect` header asks nginx to send the bytes
  from an `internal` location (MAIRIE_X_ACCEL_PREFIX + the storage name);
- "redirect": send the client to the storage's signed, short-lived URL (S3).

Whatever the mode, the browser is told the detected type with `nosniff`, non-images are
downloaded as attachments, and a sandboxing Content-Security-Policy neutralises any markup that
slipped through content detection.
"""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import FileResponse, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.http import content_disposition_header

from .models import StoredFile

DELIVERY_MODES = ("django", "x-accel", "redirect")
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SANDBOX_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
# Shown in the browser only when asked (`inline=True`, "aperçu" links): the content was
# detected as PDF on upload and is sent with nosniff, so it can only open in the PDF viewer,
# which a `sandbox` policy would block (plugins are disabled in sandboxed documents).
PREVIEW_TYPES = frozenset({"application/pdf"})
PREVIEW_POLICY = "default-src 'none'; object-src 'self'; img-src 'self'; style-src 'unsafe-inline'"


def download_name(stored: StoredFile) -> str:
    """The original name, with the extension of the detected type when it disagrees (a JPEG
    uploaded as "scan.pdf" downloads as "scan.pdf.jpg" and opens in the right program)."""
    name = stored.original_name or "fichier"
    guessed, _ = mimetypes.guess_type(name)
    if guessed != stored.content_type:
        extension = mimetypes.guess_extension(stored.content_type)
        if extension and not name.lower().endswith(extension):
            name = f"{name}{extension}"
    return name


def _secure(response: HttpResponseBase, stored: StoredFile, *,
            preview: bool = False) -> HttpResponseBase:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PREVIEW_POLICY if preview else SANDBOX_POLICY
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Referrer-Policy"] = "no-referrer"
    # Personal documents must not linger in a shared computer's cache (counters, libraries).
    response["Cache-Control"] = "public, max-age=300" if stored.is_public else "private, no-store"
    return response


def file_response(stored: StoredFile, *, inline: bool = False) -> HttpResponseBase:
    """`inline` also opens PDFs in the browser (a preview link) instead of downloading them."""
    mode = settings.MAIRIE_FILE_DELIVERY
    preview = inline and stored.content_type in PREVIEW_TYPES
    as_attachment = stored.content_type not in INLINE_TYPES and not preview
    filename = download_name(stored)
    disposition = content_disposition_header(as_attachment, filename) or "inline"
    name = stored.file.name or ""
    response: HttpResponseBase
    if mode == "django":
        response = FileResponse(stored.file.open("rb"), content_type=stored.content_type,
                                as_attachment=as_attachment, filename=filename)
    elif mode == "x-accel":
        response = HttpResponse(b"", content_type=stored.content_type)
        response["X-Accel-Redirect"] = settings.MAIRIE_X_ACCEL_PREFIX + quote(name)
        response["Content-Disposition"] = disposition
    elif mode == "redirect":
        response = HttpResponseRedirect(signed_url(stored, disposition))
    else:
        raise ImproperlyConfigured(
            f"MAIRIE_FILE_DELIVERY must be one of {DELIVERY_MODES}, not {mode!r}.")
    return _secure(response, stored, preview=preview)


def signed_url(stored: StoredFile, disposition: str) -> str:
    """A short-lived URL of the object storage that also fixes the type and disposition the
    storage will answer with."""
    storage: Any = stored.file.storage
    name = stored.file.name or ""
    if hasattr(storage, "querystring_auth"):  # django-storages' S3 backend
        return storage.url(
            name,
            parameters={"ResponseContentType": stored.content_type,
                        "ResponseContentDisposition": disposition},
            expire=settings.MAIRIE_FILE_URL_EXPIRY,
        )
    return storage.url(name)
