"""Storing uploads: checked by content, size and antivirus before anything is written.

Modules never save a `StoredFile` themselves: they call `store_upload(...)` with a registered
purpose (see `purposes.py`) and keep the returned row in a foreign key.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mairie.core.audit.services import record_event

from . import scanner
from .detection import ContentSniffer, format_size, french_list, type_label
from .models import ScanStatus, StoredFile
from .purposes import Purpose, get_purpose

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Inspection:
    """What the bytes of an upload turned out to be."""

    content_type: str
    size: int
    sha256: str


def size_limit(purpose: Purpose) -> int:
    """The purpose's limit, never above the instance-wide MAIRIE_UPLOAD_MAX_BYTES."""
    return min(purpose.max_bytes, settings.MAIRIE_UPLOAD_MAX_BYTES)


def allowed_types_label(purpose: Purpose) -> str:
    labels = sorted({type_label(t) for t in purpose.allowed}, key=_type_order)
    return french_list(labels)


def _type_order(label: str) -> tuple[int, str]:
    # Residents read "PDF, JPEG et PNG" more easily than an alphabetical jumble.
    preferred = ["PDF", "JPEG", "PNG", "WebP", "ODT", "DOCX", "ODS", "XLSX", "CSV"]
    return (preferred.index(label) if label in preferred else len(preferred), label)


def _too_big(limit: int) -> ValidationError:
    return ValidationError(_("Le fichier dépasse %(limit)s.") % {"limit": format_size(limit)},
                           code="file_too_big")


def inspect_upload(uploaded_file: UploadedFile, *, purpose: str) -> Inspection:
    """Read the upload once (hash, size, content sniffing) and check it against `purpose`.

    Raises a `ValidationError` in French for the person who sent the file.
    """
    spec = get_purpose(purpose)
    limit = size_limit(spec)
    declared = getattr(uploaded_file, "size", None)
    if declared is not None and declared > limit:
        raise _too_big(limit)
    sniffer, digest, size = ContentSniffer(), hashlib.sha256(), 0
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _too_big(limit)
        digest.update(chunk)
        sniffer.feed(chunk)
    uploaded_file.seek(0)
    if size == 0:
        raise ValidationError(_("Le fichier est vide."), code="file_empty")
    content_type = sniffer.content_type()
    if content_type not in spec.allowed:
        allowed = allowed_types_label(spec)
        message = ngettext(
            "Le fichier est de type %(found)s, seul %(allowed)s est accepté.",
            "Le fichier est de type %(found)s, seuls %(allowed)s sont acceptés.",
            len(spec.allowed),
        ) % {"found": type_label(content_type), "allowed": allowed}
        raise ValidationError(message, code="file_type")
    return Inspection(content_type=content_type, size=size, sha256=digest.hexdigest())


def safe_original_name(name: str | None) -> str:
    """The user's file name, kept for display and downloads only: no path, no control
    characters, at most 255 characters (extension kept)."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if not name:
        return "fichier"
    if len(name) > 255:
        stem, ext = os.path.splitext(name)
        name = stem[: 255 - len(ext[:20])] + ext[:20]
    return name


def store_upload(
    *,
    actor,
    organisation,
    uploaded_file: UploadedFile,
    purpose: str,
    is_public: bool = False,
    request: HttpRequest | None = None,
) -> StoredFile:
    """Check, scan and store an upload for `purpose`; return the new `StoredFile`.

    Order matters: cheap checks first (size, type), then the antivirus, then the storage
    write, then the row and its audit event in one transaction. Refusals raise
    `ValidationError` with a message for the uploader; a configured scanner that cannot
    answer refuses the file (fail closed).
    """
    spec = get_purpose(purpose)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    if actor is not None and not actor.is_superuser and actor.organisation_id != organisation.pk:
        raise PermissionDenied
    if spec.can_upload is not None and not spec.can_upload(actor, organisation):
        raise PermissionDenied
    inspection = inspect_upload(uploaded_file, purpose=purpose)

    try:
        verdict = scanner.scan_file(uploaded_file)
    except scanner.ScannerUnavailable as exc:
        logger.error("Upload refused, virus scanner unavailable: %s", exc)
        raise ValidationError(
            _("L'analyse antivirus est momentanément indisponible : le fichier n'a pas été "
              "accepté. Réessayez dans quelques minutes."),
            code="scanner_unavailable") from exc
    if verdict is not None and verdict.infected:
        record_event(organisation=organisation, action="files.virus_refused", actor=actor,
                     object_type="files.storedfile",
                     object_label=safe_original_name(uploaded_file.name),
                     details={"purpose": purpose, "signature": verdict.signature,
                              "sha256": inspection.sha256, "size": inspection.size},
                     request=request)
        raise ValidationError(
            _("Le fichier contient un virus : %(signature)s.") % {"signature": verdict.signature},
            code="file_infected")

    stored = StoredFile(
        organisation=organisation,
        purpose=purpose,
        original_name=safe_original_name(uploaded_file.name),
        content_type=inspection.content_type,
        size=inspection.size,
        sha256=inspection.sha256,
        uploaded_by=actor,
        is_public=is_public,
        scan_status=ScanStatus.NOT_SCANNED if verdict is None else ScanStatus.CLEAN,
    )
    uploaded_file.seek(0)
    # The name given here is ignored: `upload_to` builds an opaque path from the row's id.
    stored.file.save(stored.original_name, uploaded_file, save=False)
    try:
        with transaction.atomic():
            stored.save(force_insert=True)
            record_event(organisation=organisation, action="files.stored", actor=actor,
                         obj=stored, request=request,
                         details={"purpose": purpose, "content_type": stored.content_type,
                                  "size": stored.size, "sha256": stored.sha256,
                                  "scan": stored.scan_status, "public": is_public})
    except BaseException:
        stored.file.storage.delete(stored.file.name or "")
        raise
    return stored


def delete_stored_file(*, actor, stored_file: StoredFile,
                       request: HttpRequest | None = None) -> None:
    """Remove a file and its bytes (retention rules, replaced logos). The calling module has
    checked that `actor` may do so; the bytes go only once the row's deletion is committed."""
    name, storage = stored_file.file.name or "", stored_file.file.storage
    with transaction.atomic():
        record_event(organisation=stored_file.organisation, action="files.deleted",
                     actor=actor, obj=stored_file, request=request,
                     details={"purpose": stored_file.purpose, "sha256": stored_file.sha256})
        stored_file.delete()
        transaction.on_commit(lambda: storage.delete(name))


def record_download(*, actor, stored_file: StoredFile, request: HttpRequest | None = None) -> None:
    """Audit a read of someone else's private file (an agent opening a resident's document)."""
    record_event(organisation=stored_file.organisation, action="files.downloaded", actor=actor,
                 obj=stored_file, request=request, details={"purpose": stored_file.purpose})


def _stored_names(storage, folder: str):
    directories, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _stored_names(storage, f"{folder}/{directory}")


def sweep_orphan_files(*, older_than: datetime.timedelta = datetime.timedelta(hours=6),
                       dry_run: bool = False) -> list[str]:
    """Delete bytes under `files/` that no `StoredFile` row points to.

    They appear when a transaction around `store_upload` rolls back after the bytes were
    written (the storage is not transactional). Recent files are left alone: their row may
    not be committed yet.
    """
    from django.core.files.storage import default_storage
    from django.utils import timezone

    if not default_storage.exists("files"):
        return []
    limit = timezone.now() - older_than
    known = set(StoredFile.objects.values_list("file", flat=True))
    removed = []
    for name in _stored_names(default_storage, "files"):
        if name in known or default_storage.get_modified_time(name) > limit:
            continue
        if not dry_run:
            default_storage.delete(name)
        removed.append(name)
    if removed:
        logger.warning("%s %d orphan file(s) from storage.",
                       "Would remove" if dry_run else "Removed", len(removed))
    return removed
