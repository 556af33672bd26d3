"""Documents scanned at the counter (decision 0469): the image is stored at once — never lost,
whatever happens to the reading — then Tesseract reads it in a Celery task, which stores the
searchable PDF and the text and makes them findable. Without Tesseract the document stays
stored, marked « OCR indisponible », and can be read again once it is installed."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from mairie.core.audit.services import record_event
from mairie.core.files.services import store_upload
from mairie.core.organisation.models import Role

from . import ocr, rules
from . import text as search_words
from .models import ResidentRecord
from .models_scans import CounterScan

logger = logging.getLogger(__name__)

SCAN_PURPOSE = "crm-counter-scan"
PDF_PURPOSE = "crm-counter-scan-pdf"
SEARCH_TYPE = "crm.counter_scan"
SCAN_MAX_BYTES = 20 * 1024 * 1024
SEARCH_TEXT_MAX = 100_000
DOSSIER_EVENT = "crm.counter_scan"


def register() -> None:
    """Upload purposes and the search type (from `CrmConfig.ready`)."""
    from mairie.core.files.purposes import register_purpose
    from mairie.core.search.registry import register_object_type

    register_purpose(
        SCAN_PURPOSE, allowed=ocr.READABLE_TYPES, max_bytes=SCAN_MAX_BYTES,
        label=gettext_lazy("Document numérisé à l'accueil"),
        can_upload=rules.may_scan,
        can_read=_may_read_file)
    register_purpose(
        PDF_PURPOSE, allowed={"application/pdf"}, max_bytes=4 * SCAN_MAX_BYTES,
        label=gettext_lazy("PDF avec texte d'un document numérisé"),
        # Written by the reading task only, never from a form.
        can_upload=lambda user, organisation: user is None, can_read=_may_read_file)
    register_object_type(SEARCH_TYPE, label=gettext_lazy("Document numérisé"),
                         documents=_search_entries)
    from mairie.procedures.events import register_describer

    register_describer(DOSSIER_EVENT, lambda event: _(
        "Document numérisé à l'accueil et joint au dossier : %(title)s (sur la fiche de "
        "l'usager)") % {"title": (event.details or {}).get("title", "")})


def ocr_missing() -> str | None:
    """Why documents cannot be read on this server (for the scan page), checked at most every
    five minutes."""
    from django.conf import settings
    from django.core.cache import cache

    key = f"crm:ocr-missing:{settings.MAIRIE_TESSERACT}:{settings.MAIRIE_OCR_LANGUAGES}"
    found = cache.get(key)
    if found is None:
        found = ocr.missing_reason() or ""
        cache.set(key, found, 300)
    return found or None


def _may_read_file(user, stored) -> bool:
    """The original or the PDF of a scan the user may read (`queries.scans_visible_to`)."""
    from .queries import scans_visible_to

    if not getattr(user, "is_authenticated", False):
        return False
    return scans_visible_to(user, stored.organisation).filter(
        Q(original=stored) | Q(searchable_pdf=stored)).exists()


def _audit(action: str, actor, scan: CounterScan, request=None, **details) -> None:
    record_event(organisation=scan.organisation, action=action, actor=actor, obj=scan,
                 object_label=scan.record.full_name, request=request,
                 details={"record": str(scan.record_id), "service": str(scan.service_id),
                          **details})


def _read_later(scan: CounterScan) -> None:
    from .tasks import read_counter_scan

    scan_id = str(scan.pk)
    transaction.on_commit(lambda: read_counter_scan.delay(scan_id))


@transaction.atomic
def scan_document(*, actor, record: ResidentRecord, upload: UploadedFile, service=None,
                  title: str = "", dossier=None,
                  request: HttpRequest | None = None) -> CounterScan:
    """Store the scanned document for the record (checked by content, size and type), and have
    its text read in the background. `service`: one of the agent's (their first by default),
    whose members will read it; `dossier`: one of the person's the agent may attach it to."""
    from .queries import dossiers_to_attach

    organisation = record.organisation
    if not rules.may_scan(actor, organisation):
        raise PermissionDenied
    services = rules.services_of(actor, organisation)
    if record.merged_into_id:
        raise ValidationError(_("Cette fiche a été fusionnée dans une autre : numérisez le "
                                "document depuis celle-ci."))
    if service is None:
        from mairie.core.organisation.models import Service

        service = Service.objects.filter(organisation=organisation, pk__in=services) \
            .order_by("name").first()
    if service is None or service.organisation_id != organisation.pk or \
            service.pk not in services:
        raise PermissionDenied
    if dossier is not None and dossier.pk not in {
            d.pk for d in dossiers_to_attach(actor, organisation, record)}:
        raise ValidationError({"dossier": _("Choisissez un dossier de cette personne que vous "
                                            "pouvez consulter.")})
    stored = store_upload(actor=actor, organisation=organisation, uploaded_file=upload,
                          purpose=SCAN_PURPOSE, request=request)
    scan = CounterScan.objects.create(
        organisation=organisation, record=record, service=service, dossier=dossier,
        title=title.strip()[:200], original=stored, scanned_by=actor,
        language=_languages())
    _audit("crm.document_scanned", actor, scan, request, content_type=stored.content_type,
           size=stored.size, dossier=str(dossier.pk) if dossier else None)
    if dossier is not None:  # on the dossier's history, for the agents who process it
        from mairie.procedures.services import add_agent_event

        add_agent_event(actor=actor, dossier=dossier, kind=DOSSIER_EVENT,
                        details={"scan": str(scan.pk), "title": scan.label[:200]})
    _read_later(scan)
    return scan


def document_viewed(*, actor, scan: CounterScan, request: HttpRequest | None = None) -> None:
    """Reading a scanned document's page (its text) is a sensitive read."""
    _audit("crm.document_viewed", actor, scan, request)


def _languages() -> str:
    from django.conf import settings

    return settings.MAIRIE_OCR_LANGUAGES[:50]


@transaction.atomic
def read_again(*, actor, scan: CounterScan, request: HttpRequest | None = None
               ) -> CounterScan:
    """Read a document again (Tesseract installed since, or a failure): by its service."""
    current = CounterScan.objects.select_for_update().get(pk=scan.pk)
    if not rules.may_read_scan_again(actor, current):
        raise PermissionDenied
    if not current.may_read_again:
        raise ValidationError(_("Ce document a déjà été lu."))
    current.state, current.problem, current.language = CounterScan.State.PENDING, "", \
        _languages()
    current.save(update_fields=["state", "problem", "language", "updated_at"])
    current.record = scan.record
    _audit("crm.document_read_again", actor, current, request)
    _read_later(current)
    return current


def read_scan(*, scan_id) -> CounterScan | None:
    """The task's work: Tesseract reads the stored document (outside any transaction: it may
    take a while), then the result is saved in one transaction with the searchable PDF, the
    search index and the audit event. A document already read is left as it is."""
    scan = (CounterScan.objects.filter(pk=scan_id)
            .select_related("original", "record", "organisation").first())
    if scan is None or scan.state != CounterScan.State.PENDING:
        return scan
    state, reading, problem = CounterScan.State.DONE, None, ""
    try:
        with scan.original.file.open("rb") as handle:
            data = handle.read()
        reading = ocr.read_document(data, scan.original.content_type)
    except ocr.OcrUnavailable as exc:
        state, problem = CounterScan.State.NO_OCR, str(exc)
        logger.warning("Counter scan %s stored without its text: %s", scan.pk, exc)
    except ocr.Unreadable as exc:
        state, problem = CounterScan.State.UNREADABLE, str(exc)
    except Exception as exc:  # noqa: BLE001  (the scan must not stay "in progress" forever)
        logger.exception("Reading counter scan %s failed", scan.pk)
        state, problem = CounterScan.State.FAILED, str(exc)[:300] or type(exc).__name__
    return _save_reading(scan, state, reading, problem)


@transaction.atomic
def _save_reading(scan: CounterScan, state: str, reading: ocr.Reading | None,
                  problem: str) -> CounterScan:
    current = CounterScan.objects.select_for_update().get(pk=scan.pk)
    if current.state != CounterScan.State.PENDING:
        return current
    current.record, current.organisation, current.original = \
        scan.record, scan.organisation, scan.original
    current.state, current.problem, current.read_at = state, problem[:300], timezone.now()
    if reading is not None:
        current.text, current.pages = reading.text, reading.pages
        current.search_text = search_words.padded(
            search_words.words(reading.text))[:SEARCH_TEXT_MAX]
        if reading.pdf is not None:
            current.searchable_pdf = _store_pdf(current, reading.pdf)
        elif current.original.content_type == "application/pdf":
            current.searchable_pdf = current.original  # it had its text already
    current.save()
    index_scan(current)
    _audit("crm.document_read", None, current, state=state, pages=current.pages,
           language=current.language, characters=len(current.text))
    return current


def _store_pdf(scan: CounterScan, pdf: bytes):
    stem = slugify(scan.label.rsplit(".", 1)[0]) or "document"
    upload = ContentFile(pdf, name=f"{stem}-texte.pdf")
    upload.content_type = "application/pdf"  # type: ignore[attr-defined]
    return store_upload(actor=None, organisation=scan.organisation,
                        uploaded_file=upload,  # type: ignore[arg-type]  # same file API
                        purpose=PDF_PURPOSE)


# --- Search (core.search) -------------------------------------------------------------------

def _entry(scan: CounterScan):
    from mairie.core.search.access import role_key, service_key
    from mairie.core.search.registry import IndexEntry

    with override("fr"):
        title = _("%(document)s — %(name)s") % {"document": scan.label,
                                                 "name": scan.record.full_name}
    # Those who read the scan (decision 0461): its service, directors and administrators.
    return IndexEntry(obj_id=str(scan.pk), title=title, body=scan.text,
                      url=reverse("crm:scan", args=[scan.pk]),
                      access_keys=[service_key(scan.service_id),
                                   role_key(scan.organisation_id, Role.DIRECTOR),
                                   role_key(scan.organisation_id, Role.ADMINISTRATOR)])


def _search_entries(organisation):
    for scan in (CounterScan.objects.filter(organisation=organisation,
                                            state=CounterScan.State.DONE)
                 .exclude(text="").select_related("record", "original")):
        yield _entry(scan)


def index_scan(scan: CounterScan) -> None:
    from mairie.core.search.services import index_entry, remove_document

    if scan.state == CounterScan.State.DONE and scan.text:
        index_entry(organisation=scan.organisation_id, obj_type=SEARCH_TYPE,
                    entry=_entry(scan))
    else:
        remove_document(organisation=scan.organisation_id, obj_type=SEARCH_TYPE,
                        obj_id=scan.pk)


def forget_scan(*, actor, scan: CounterScan) -> None:
    """Delete a scan, its files and its search entry (erasure: `privacy.py`)."""
    from mairie.core.files.services import delete_stored_file
    from mairie.core.search.services import remove_document

    files = [f for f in (scan.original, scan.searchable_pdf) if f is not None]
    remove_document(organisation=scan.organisation_id, obj_type=SEARCH_TYPE, obj_id=scan.pk)
    scan.delete()
    for stored in {f.pk: f for f in files}.values():
        delete_stored_file(actor=actor, stored_file=stored)
