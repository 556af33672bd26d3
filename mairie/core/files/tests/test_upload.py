"""Storing uploads: type from the content, size limits, hash, opaque storage, audit."""

import hashlib

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError

from mairie.core.audit.models import AuditEvent
from mairie.core.files.models import ScanStatus, StoredFile
from mairie.core.files.purposes import register_purpose, unregister_purpose
from mairie.core.files.services import delete_stored_file, store_upload
from mairie.core.files.testing import exe_bytes, pdf_bytes, png_bytes, upload


def _store(user, organisation, file, purpose="tests.attachment", **kwargs):
    return store_upload(actor=user, organisation=organisation, uploaded_file=file,
                        purpose=purpose, **kwargs)


def _refusal(user, organisation, file, purpose="tests.attachment") -> str:
    before = StoredFile.objects.count()
    with pytest.raises(ValidationError) as caught:
        _store(user, organisation, file, purpose)
    assert StoredFile.objects.count() == before
    return " ".join(caught.value.messages)


@pytest.mark.django_db
def test_a_pdf_is_stored_with_its_hash_under_an_opaque_name(resident, organisation,
                                                             attachment_purpose, _media_root):
    content = pdf_bytes()
    stored = _store(resident, organisation, upload("Mon justificatif.pdf", content, "text/html"))

    assert stored.content_type == "application/pdf"  # from the bytes, not the browser's claim
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.original_name == "Mon justificatif.pdf"
    assert stored.uploaded_by == resident and stored.organisation == organisation
    assert stored.scan_status == ScanStatus.NOT_SCANNED
    assert "justificatif" not in stored.file.name and str(stored.pk) in stored.file.name
    with stored.file.open("rb") as fh:
        assert fh.read() == content
    event = AuditEvent.objects.get(action="files.stored")
    assert event.object_id == str(stored.pk) and event.actor == resident
    assert event.details["sha256"] == stored.sha256


@pytest.mark.django_db
def test_an_exe_renamed_pdf_is_refused(resident, organisation, attachment_purpose):
    message = _refusal(resident, organisation,
                       upload("facture.pdf", exe_bytes(), "application/pdf"))
    assert message == ("Le fichier est de type EXE (programme Windows), "
                       "seuls PDF, JPEG et PNG sont acceptés.")


@pytest.mark.django_db
def test_an_html_page_renamed_png_is_refused(resident, organisation, attachment_purpose):
    page = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
    message = _refusal(resident, organisation, upload("photo.png", page, "image/png"))
    assert message == "Le fichier est de type HTML, seuls PDF, JPEG et PNG sont acceptés."


@pytest.mark.django_db
def test_a_file_over_the_purpose_limit_is_refused(resident, organisation, attachment_purpose):
    too_big = pdf_bytes() + b"0" * (10 * 1024 * 1024)
    message = _refusal(resident, organisation, upload("scan.pdf", too_big))
    assert message == "Le fichier dépasse 10 Mo."


@pytest.mark.django_db
def test_the_instance_limit_caps_every_purpose(settings, resident, organisation,
                                               attachment_purpose):
    settings.MAIRIE_UPLOAD_MAX_BYTES = 1536
    message = _refusal(resident, organisation, upload("scan.pdf", pdf_bytes() + b"0" * 2000))
    assert message == "Le fichier dépasse 1,5 Ko."


@pytest.mark.django_db
def test_an_empty_file_is_refused(resident, organisation, attachment_purpose):
    assert _refusal(resident, organisation, upload("vide.pdf", b"")) == "Le fichier est vide."


@pytest.mark.django_db
def test_a_logo_in_svg_is_refused_and_no_purpose_may_allow_svg(administrator, organisation):
    svg = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
           b"<script>alert(1)</script></svg>")
    message = _refusal(administrator, organisation, upload("logo.png", svg, "image/png"),
                       purpose="logo")
    assert message == "Le fichier est de type SVG, seuls JPEG, PNG et WebP sont acceptés."
    with pytest.raises(ImproperlyConfigured):
        register_purpose("tests.vector", allowed={"image/svg+xml"}, max_bytes=1000)


@pytest.mark.django_db
def test_only_an_administrator_uploads_the_logo(administrator, agent, organisation):
    stored = _store(administrator, organisation, upload("logo.png", png_bytes(4, 4)),
                    purpose="logo", is_public=True)
    assert stored.content_type == "image/png" and stored.is_public
    with pytest.raises(PermissionDenied):
        _store(agent, organisation, upload("logo.png", png_bytes()), purpose="logo")


@pytest.mark.django_db
def test_a_user_cannot_store_into_another_organisation(resident, other_organisation,
                                                       attachment_purpose):
    with pytest.raises(PermissionDenied):
        _store(resident, other_organisation, upload("a.pdf", pdf_bytes()))


@pytest.mark.django_db
def test_csv_and_text_are_recognised_including_windows_1252(resident, organisation):
    register_purpose("tests.import", allowed={"text/csv"}, max_bytes=100_000)
    try:
        utf8 = "nom;prénom;commune\nDupont;Élodie;Valmont\nMartin;Loïc;Valmont\n".encode()
        assert _store(resident, organisation, upload("liste.csv", utf8),
                      purpose="tests.import").content_type == "text/csv"
        excel = "nom;prénom\nLefèvre;Zoé\nGarçon;Noël\n".encode("cp1252")
        assert _store(resident, organisation, upload("export.csv", excel),
                      purpose="tests.import").content_type == "text/csv"
        prose = b"Bonjour,\nje souhaite un rendez-vous.\n"
        message = _refusal(resident, organisation, upload("lettre.csv", prose),
                           purpose="tests.import")
        assert message == "Le fichier est de type texte, seul CSV est accepté."
    finally:
        unregister_purpose("tests.import")


@pytest.mark.django_db
def test_the_file_name_is_cleaned_for_display(resident, organisation, attachment_purpose):
    stored = _store(resident, organisation,
                    upload("../../etc/pass\x00wd\r\n.pdf", pdf_bytes()))
    assert stored.original_name == "passwd.pdf"


@pytest.mark.django_db
def test_deleting_a_file_removes_its_bytes_after_commit(resident, organisation,
                                                        attachment_purpose,
                                                        django_capture_on_commit_callbacks):
    stored = _store(resident, organisation, upload("a.pdf", pdf_bytes()))
    storage, name = stored.file.storage, stored.file.name
    with django_capture_on_commit_callbacks(execute=True):
        delete_stored_file(actor=resident, stored_file=stored)
    assert not StoredFile.objects.exists()
    assert not storage.exists(name)
    assert AuditEvent.objects.filter(action="files.deleted").exists()
