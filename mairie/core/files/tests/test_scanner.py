"""The antivirus hook, against a server speaking clamd's protocol (see testing.FakeClamd)."""

import logging

import pytest
from django.core.exceptions import ValidationError

from mairie.core.audit.models import AuditEvent
from mairie.core.files import scanner
from mairie.core.files.models import ScanStatus, StoredFile
from mairie.core.files.services import store_upload
from mairie.core.files.testing import EICAR, FakeClamd, pdf_bytes, unused_tcp_url, upload

UNAVAILABLE = ("L'analyse antivirus est momentanément indisponible : le fichier n'a pas été "
               "accepté. Réessayez dans quelques minutes.")


def _store(user, organisation, file):
    return store_upload(actor=user, organisation=organisation, uploaded_file=file,
                        purpose="tests.attachment")


def _files_on_disk(media_root):
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


@pytest.mark.django_db
def test_a_clean_file_is_streamed_to_clamd_and_stored(settings, resident, organisation,
                                                      attachment_purpose):
    content = pdf_bytes() + b"%" + b"x" * 200_000  # several INSTREAM chunks
    with FakeClamd() as clamd:
        settings.MAIRIE_CLAMD_URL = clamd.url
        stored = _store(resident, organisation, upload("dossier.pdf", content))
    assert clamd.commands == ["zINSTREAM"]
    assert clamd.streams == [content]  # every chunk arrived, in order, length-prefixed
    assert stored.scan_status == ScanStatus.CLEAN


@pytest.mark.django_db
def test_an_infected_file_is_refused_audited_and_not_written(settings, resident, organisation,
                                                            attachment_purpose, _media_root):
    infected = pdf_bytes() + b"\n%" + EICAR + b"\n"
    with FakeClamd() as clamd:
        settings.MAIRIE_CLAMD_URL = clamd.url
        with pytest.raises(ValidationError) as caught:
            _store(resident, organisation, upload("facture.pdf", infected))
    assert caught.value.messages == ["Le fichier contient un virus : Eicar-Test-Signature."]
    assert not StoredFile.objects.exists()
    assert _files_on_disk(_media_root) == []
    event = AuditEvent.objects.get(action="files.virus_refused")
    assert event.actor == resident
    assert event.details["signature"] == "Eicar-Test-Signature"
    assert event.object_label == "facture.pdf"


@pytest.mark.django_db
def test_uploads_are_refused_when_the_scanner_is_down(settings, resident, organisation,
                                                      attachment_purpose, _media_root):
    settings.MAIRIE_CLAMD_URL = unused_tcp_url()
    with pytest.raises(ValidationError) as caught:
        _store(resident, organisation, upload("a.pdf", pdf_bytes()))
    assert caught.value.messages == [UNAVAILABLE]
    assert not StoredFile.objects.exists() and _files_on_disk(_media_root) == []


@pytest.mark.django_db
def test_uploads_are_refused_when_the_scanner_hangs(settings, resident, organisation,
                                                    attachment_purpose):
    settings.MAIRIE_FILE_SCAN_TIMEOUT = 0.3
    with FakeClamd(silent=True) as clamd:
        settings.MAIRIE_CLAMD_URL = clamd.url
        with pytest.raises(ValidationError) as caught:
            _store(resident, organisation, upload("a.pdf", pdf_bytes()))
    assert caught.value.messages == [UNAVAILABLE]
    assert not StoredFile.objects.exists()


@pytest.mark.django_db
def test_a_unix_socket_scanner_works_too(settings, resident, organisation, attachment_purpose):
    with FakeClamd(unix=True) as clamd:
        settings.MAIRIE_CLAMD_URL = clamd.url
        assert clamd.url.startswith("unix:///")
        stored = _store(resident, organisation, upload("a.pdf", pdf_bytes()))
        assert scanner.ClamdClient(clamd.url).ping()
    assert stored.scan_status == ScanStatus.CLEAN


def test_ping_answers_pong_or_reports_the_scanner_down():
    with FakeClamd() as clamd:
        assert scanner.ClamdClient(clamd.url, timeout=2).ping() is True
        assert clamd.commands == ["zPING"]
    assert scanner.ClamdClient(unused_tcp_url(), timeout=2).ping() is False


def test_a_malformed_scanner_url_is_rejected():
    with pytest.raises(ValueError):
        scanner.ClamdClient("http://clamav:3310")


@pytest.mark.django_db
def test_without_scanner_files_are_stored_unscanned_and_it_is_logged_once(
        monkeypatch, caplog, resident, organisation, attachment_purpose):
    monkeypatch.setattr(scanner, "_warned_unconfigured", False)
    with caplog.at_level(logging.WARNING, logger="mairie.core.files.scanner"):
        first = _store(resident, organisation, upload("a.pdf", pdf_bytes()))
        _store(resident, organisation, upload("b.pdf", pdf_bytes()))
    assert first.scan_status == ScanStatus.NOT_SCANNED
    warnings = [r for r in caplog.records if "No virus scanner configured" in r.getMessage()]
    assert len(warnings) == 1
