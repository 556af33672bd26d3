"""Scanning a paper document at the counter (issue 5, decision 0469), as agents notice it:
the document is kept at once; Tesseract reads its French text into a searchable PDF; the
resident's record is then found by a word of it; without Tesseract, or with an unreadable
scan, the page says so and nothing is lost; nobody outside the service (or the organisation)
reads it.

Tests marked `ocr` run the real Tesseract (Debian's tesseract-ocr and tesseract-ocr-fra)."""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory, agent_factory
from mairie.core.files.models import StoredFile
from mairie.core.files.testing import upload
from mairie.core.notifications.tests.conftest import celery_worker_process  # noqa: F401
from mairie.core.organisation.models import Role
from mairie.core.search.queries import search
from mairie.crm import queries, services, services_scans
from mairie.crm.models import CounterScan, ResidentRecord

from .scan_helpers import blank_page, broken_png, french_page, pdf_text, text_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIRIE_CLAMD_URL = ""
    settings.MAIRIE_FILE_DELIVERY = "django"


@pytest.fixture
def record(organisation, agent):
    return services.create_record(actor=agent, organisation=organisation, values={
        "first_name": "Martine", "last_name": "Dupuis", "email": "martine.dupuis@example.org"})


@pytest.fixture
def no_tesseract(settings):
    settings.MAIRIE_TESSERACT = "/nonexistent/bin/tesseract"


def post_scan(client, record, content, name="scan.png", *, title="Acte de naissance",
              capture=None, **extra):
    data = {"file": upload(name, content, "image/png"), "title": title, **extra}
    if "service" not in extra:
        data["service"] = str(record.created_by.memberships.first().service_id)
    url = reverse("crm:scan-new", args=[record.pk])
    if capture is None:
        return client.post(url, data)
    with capture(execute=True):  # the reading task, after the commit
        return client.post(url, data)


def scan_of(record) -> CounterScan:
    return CounterScan.objects.select_related("original", "searchable_pdf").get(record=record)


# --- Reading a document -----------------------------------------------------------------------

@pytest.mark.ocr
def test_a_scanned_french_document_is_read_and_finds_the_record(
        tesseract, client, organisation, agent, record, django_capture_on_commit_callbacks):
    client.force_login(agent)
    page = client.get(reverse("crm:record", args=[record.pk])).content.decode()
    assert reverse("crm:scan-new", args=[record.pk]) in page  # « Numériser un document »
    form = client.get(reverse("crm:scan-new", args=[record.pk])).content.decode()
    assert 'accept="image/*,application/pdf"' in form and 'capture="environment"' in form
    assert "OCR indisponible" not in form

    response = post_scan(client, record, french_page(),
                         capture=django_capture_on_commit_callbacks)
    scan = scan_of(record)
    assert response.status_code == 302 and response["Location"] == reverse(
        "crm:scan", args=[scan.pk])
    assert scan.state == CounterScan.State.DONE and scan.language == "fra"
    assert "Acte de naissance" in scan.text and "Élisabeth" in scan.text
    assert "février" in scan.text
    # The searchable PDF carries the text, the original is the very image sent.
    with scan.searchable_pdf.file.open("rb") as handle:
        pdf = handle.read()
    assert pdf.startswith(b"%PDF") and scan.searchable_pdf.content_type == "application/pdf"
    assert "Élisabeth" in pdf_text(pdf) and "naissance" in pdf_text(pdf)
    assert scan.original.content_type == "image/png"
    with scan.original.file.open("rb") as handle:
        assert handle.read() == french_page()

    # The scan page and the record's timeline show it, with both downloads.
    detail = client.get(reverse("crm:scan", args=[scan.pk])).content.decode()
    assert "Texte lu" in detail and "Élisabeth Quérard" in detail
    timeline = client.get(reverse("crm:record", args=[record.pk])).content.decode()
    assert "Document numérisé" in timeline and "Acte de naissance" in timeline
    for stored in (scan.original, scan.searchable_pdf):
        assert reverse("files:download", args=[stored.pk]) in timeline
        assert client.get(reverse("files:download", args=[stored.pk])).status_code == 200

    # A word of the document finds the record (counter search), saying which document.
    found = client.get(reverse("crm:search"), {"q": "Quérard"}).content.decode()
    assert "Martine DUPUIS" in found and "Trouvé dans un document numérisé" in found
    assert "<mark>Quérard</mark>" in found
    assert [r.pk for r in queries.search_records(agent, organisation, "querard fevrier")] == [
        record.pk]
    # ... and the organisation's one search box.
    hits = search(agent, organisation, "Élisabeth naissance")
    assert [(h.object_type, h.url) for h in hits] == [
        (services_scans.SEARCH_TYPE, reverse("crm:scan", args=[scan.pk]))]

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"crm.document_scanned", "crm.document_read", "crm.document_viewed",
            "files.stored", "files.downloaded"} <= actions


@pytest.mark.ocr
@pytest.mark.parametrize("fmt, name", [("JPEG", "photo.jpg"), ("TIFF", "scan.tif"),
                                       ("PDF", "scanner.pdf")])
def test_a_camera_photo_a_tiff_and_a_scanner_pdf_are_read_too(
        tesseract, client, agent, record, django_capture_on_commit_callbacks, fmt, name):
    client.force_login(agent)
    post_scan(client, record, french_page(fmt=fmt), name,
              capture=django_capture_on_commit_callbacks)
    scan = scan_of(record)
    assert scan.state == CounterScan.State.DONE, scan.problem
    assert "Élisabeth" in scan.text and scan.pages == 1
    with scan.searchable_pdf.file.open("rb") as handle:
        assert "Élisabeth" in pdf_text(handle.read())


def test_a_pdf_that_has_its_text_already_is_not_read_again(
        client, agent, record, no_tesseract, django_capture_on_commit_callbacks):
    """A scanner that reads (or a PDF printed from a program): its text is taken as it is,
    Tesseract or not, and the PDF itself is the searchable one."""
    client.force_login(agent)
    post_scan(client, record, text_pdf("Justificatif de domicile au nom de Quenehen"),
              "justificatif.pdf", capture=django_capture_on_commit_callbacks)
    scan = scan_of(record)
    assert scan.state == CounterScan.State.DONE and "Quenehen" in scan.text
    assert scan.searchable_pdf_id == scan.original_id


# --- Without Tesseract, unreadable scans: nothing lost ------------------------------------------

def test_without_tesseract_the_document_is_kept_and_the_page_says_so(
        client, agent, record, no_tesseract, django_capture_on_commit_callbacks):
    client.force_login(agent)
    form = client.get(reverse("crm:scan-new", args=[record.pk])).content.decode()
    assert "OCR indisponible" in form  # said before the agent scans anything

    response = post_scan(client, record, french_page(),
                         capture=django_capture_on_commit_callbacks)
    scan = scan_of(record)
    assert response.status_code == 302
    assert scan.state == CounterScan.State.NO_OCR and scan.text == ""
    assert scan.searchable_pdf is None and "Tesseract not found" in scan.problem
    page = client.get(reverse("crm:scan", args=[scan.pk])).content.decode()
    assert "OCR indisponible" in page and "tesseract-ocr-fra" in page
    assert "Relire le document" in page
    download = client.get(reverse("files:download", args=[scan.original_id]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == \
        french_page()
    timeline = client.get(reverse("crm:record", args=[record.pk])).content.decode()
    assert "OCR indisponible" in timeline


@pytest.mark.ocr
def test_once_tesseract_is_installed_the_document_is_read_again(
        tesseract, client, settings, agent, other_service, organisation, record,
        django_capture_on_commit_callbacks):
    client.force_login(agent)
    real = settings.MAIRIE_TESSERACT
    settings.MAIRIE_TESSERACT = "/nonexistent/bin/tesseract"
    post_scan(client, record, french_page(), capture=django_capture_on_commit_callbacks)
    scan = scan_of(record)
    assert scan.state == CounterScan.State.NO_OCR
    outsider = agent_factory(service=other_service, email="urba@valmont.example")
    with pytest.raises(PermissionDenied):
        services_scans.read_again(actor=outsider, scan=scan)

    settings.MAIRIE_TESSERACT = real
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("crm:scan", args=[scan.pk])).status_code == 302
    scan.refresh_from_db()
    assert scan.state == CounterScan.State.DONE and "Élisabeth" in scan.text
    assert queries.search_records(agent, organisation, "Quérard") == [record]
    page = client.get(reverse("crm:scan", args=[scan.pk])).content.decode()
    assert "Relire le document" not in page


def test_a_file_that_is_not_an_image_is_refused_clearly_and_what_was_typed_stays(
        client, agent, record):
    client.force_login(agent)
    response = post_scan(client, record, os.urandom(4096), "scan.png",
                         title="Livret de famille")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Le formulaire contient des erreurs" in page
    assert "Le fichier est de type inconnu" in page and "PDF, JPEG, PNG et TIFF" in page
    assert 'value="Livret de famille"' in page
    assert not CounterScan.objects.exists() and not StoredFile.objects.exists()


@pytest.mark.ocr
@pytest.mark.parametrize("content", [blank_page(), broken_png()], ids=["blank", "broken"])
def test_an_unreadable_scan_is_kept_and_marked_unreadable(
        tesseract, client, agent, record, django_capture_on_commit_callbacks, content):
    client.force_login(agent)
    response = post_scan(client, record, content, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    scan = scan_of(record)
    assert scan.state == CounterScan.State.UNREADABLE and scan.text == ""
    with scan.original.file.open("rb") as handle:
        assert handle.read() == content  # the file is kept as received
    page = client.get(reverse("crm:scan", args=[scan.pk])).content.decode()
    assert "Document illisible" in page and "conservé tel quel" in page
    assert not search(agent, record.organisation, "naissance")


def test_the_reading_is_left_to_the_queue_and_the_page_says_it_is_in_progress(
        client, agent, record, django_capture_on_commit_callbacks):
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_scan(client, record, french_page())
    assert len(callbacks) == 1  # the task, sent once the document is committed
    scan = scan_of(record)
    assert scan.state == CounterScan.State.PENDING and scan.original.size > 0
    page = client.get(reverse("crm:scan", args=[scan.pk])).content.decode()
    assert "en cours de lecture" in page


# --- Who reads a scanned document ---------------------------------------------------------------

@pytest.fixture
def done_scan(record, agent, settings):
    """A scan already read (the text set as the task would), without running Tesseract."""
    settings.MAIRIE_TESSERACT = "/nonexistent/bin/tesseract"
    scan = services_scans.scan_document(actor=agent, record=record,
                                        upload=upload("scan.png", french_page(), "image/png"),
                                        title="Acte de naissance")
    from mairie.crm import ocr

    services_scans._save_reading(scan, CounterScan.State.DONE, ocr.Reading(
        text="Acte de naissance\nÉlisabeth Quérard", pdf=None, pages=1), "")
    return CounterScan.objects.get(pk=scan.pk)


def test_another_service_and_another_organisation_do_not_read_the_document(
        client, organisation, other_service, done_scan, record, foreign_agent, resident):
    colleague = agent_factory(service=other_service, email="urba@valmont.example")
    scan_url = reverse("crm:scan", args=[done_scan.pk])
    file_url = reverse("files:download", args=[done_scan.original_id])
    client.force_login(colleague)
    assert client.get(scan_url).status_code == 404
    assert client.get(file_url).status_code == 404
    assert "Acte de naissance" not in client.get(
        reverse("crm:record", args=[record.pk])).content.decode()
    assert queries.search_records(colleague, organisation, "Quérard") == []
    assert search(colleague, organisation, "Quérard") == []
    assert client.get(reverse("crm:search"), {"q": "Quérard"}).content.decode().count(
        "Trouvé dans") == 0

    # An agent of another collectivité is not signed in here; on its own site, the document
    # and its file do not exist.
    client.force_login(foreign_agent)
    assert client.get(scan_url)["Location"].startswith("/comptes/login/")
    client.force_login(foreign_agent)
    assert client.get(scan_url, HTTP_HOST="autre.localhost").status_code == 404
    assert client.get(file_url, HTTP_HOST="autre.localhost").status_code == 404
    assert client.get(reverse("crm:scan-new", args=[record.pk]),
                      HTTP_HOST="autre.localhost").status_code == 404
    other = foreign_agent.organisation
    assert not queries.scans_visible_to(foreign_agent, other).exists()
    assert search(foreign_agent, other, "Quérard") == []

    client.force_login(resident)
    assert client.get(scan_url).status_code == 403
    assert client.get(file_url).status_code == 404


def test_directors_read_every_document_and_find_it(client, organisation, other_service,
                                                   done_scan, record):
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="dgs@valmont.example")
    client.force_login(director)
    assert client.get(reverse("crm:scan", args=[done_scan.pk])).status_code == 200
    assert client.get(reverse("files:download", args=[done_scan.original_id])
                      ).status_code == 200
    assert queries.search_records(director, organisation, "Quérard") == [record]
    assert [h.object_id for h in search(director, organisation, "Quérard")] == [
        str(done_scan.pk)]


def test_a_resident_cannot_scan_nor_read(client, record, resident, done_scan):
    client.force_login(resident)
    assert client.get(reverse("crm:scan-new", args=[record.pk])).status_code == 403
    assert client.post(reverse("crm:scan-new", args=[record.pk]), {
        "file": upload("scan.png", french_page(), "image/png")}).status_code == 403
    with pytest.raises(PermissionDenied):
        services_scans.scan_document(actor=resident, record=record,
                                     upload=upload("scan.png", french_page(), "image/png"))
    assert CounterScan.objects.count() == 1


# --- A dossier being filed ---------------------------------------------------------------------

def test_a_scan_attached_to_a_dossier_filed_at_the_counter_shows_on_the_dossier(
        client, organisation, service, other_service, record, no_tesseract,
        django_capture_on_commit_callbacks):
    """The counter agent attaches the scan to the dossier they filed for the person; the
    service processing the dossier (not the counter's) sees it in the dossier's history and
    reads it."""
    from mairie.procedures.models import Dossier
    from mairie.procedures.tests.automation_helpers import make_civil_procedure, submit

    civil = make_civil_procedure(organisation, other_service)
    account = UserFactory(organisation=organisation, email=record.email)
    dossier = submit(civil, account)
    mediator = agent_factory(service=service, role=Role.MEDIATOR, email="med@valmont.example")
    Dossier.objects.filter(pk=dossier.pk).update(filed_by=mediator)
    processor = agent_factory(service=other_service, role=Role.MANAGER,
                              email="instructeur@valmont.example")
    bystander = agent_factory(service=service, email="autre-accueil@valmont.example")

    client.force_login(mediator)
    form = client.get(reverse("crm:scan-new", args=[record.pk])).content.decode()
    assert f"n° {dossier.number}" in form
    response = post_scan(client, record, french_page(), capture=django_capture_on_commit_callbacks,
                         service=str(service.pk), dossier=str(dossier.pk))
    assert response.status_code == 302, response.content.decode()[:3000]
    scan = scan_of(record)
    assert scan.dossier == dossier

    client.force_login(processor)
    history = client.get(reverse("procedures:agent-dossier-tab", args=[dossier.pk, "historique"])
                         ).content.decode()
    assert "Document numérisé à l&#x27;accueil et joint au dossier : Acte de naissance" in \
        history
    # The processing service reads it, from the record as from its link, without being the
    # counter's service; the applicant does not see this line.
    timeline = client.get(reverse("crm:record", args=[record.pk])).content.decode()
    assert reverse("crm:scan", args=[scan.pk]) in timeline
    assert client.get(reverse("files:download", args=[scan.original_id])).status_code == 200
    assert client.get(reverse("crm:scan", args=[scan.pk])).status_code == 200
    from mairie.procedures.models import DossierEvent

    assert not DossierEvent.objects.get(kind="crm.counter_scan").public
    # A dossier the agent may not read cannot be chosen (another agent of the counter).
    client.force_login(bystander)
    response = post_scan(client, record, french_page(), service=str(service.pk),
                         dossier=str(dossier.pk))
    assert response.status_code == 200 and CounterScan.objects.count() == 1
    assert "Sélectionnez un choix valide" in response.content.decode()


# --- Bounded queries, merges, personal data -----------------------------------------------------

def test_the_search_by_document_text_takes_a_fixed_number_of_queries(
        client, organisation, agent, settings):
    from mairie.crm import ocr

    settings.MAIRIE_TESSERACT = "/nonexistent/bin/tesseract"
    client.force_login(agent)

    def add(n):
        for i in range(n):
            person = services.create_record(actor=agent, organisation=organisation, values={
                "first_name": "Paul", "last_name": f"Habitant{i}x{n}"})
            scan = services_scans.scan_document(
                actor=agent, record=person, upload=upload("s.png", french_page(), "image/png"))
            services_scans._save_reading(scan, CounterScan.State.DONE, ocr.Reading(
                text=f"Quittance de loyer numéro {i}", pdf=None, pages=1), "")

    def count():
        with CaptureQueriesContext(connection) as queries_run:
            response = client.get(reverse("crm:search"), {"q": "quittance loyer"})
        assert response.status_code == 200
        return len(queries_run), response.content.decode().count("Trouvé dans")

    add(2)
    count()
    few, shown = count()
    assert shown == 2
    add(6)
    many, shown = count()
    assert shown == 8 and many == few


def test_merging_records_keeps_the_documents(organisation, agent, done_scan, record):
    mediator = agent_factory(service=done_scan.service, role=Role.MEDIATOR,
                             email="m@valmont.example")
    twin = services.create_record(actor=agent, organisation=organisation, values={
        "first_name": "Martine", "last_name": "Dupuis"})
    services.merge_records(actor=mediator, kept=twin, absorbed=record)
    assert CounterScan.objects.get().record == twin
    assert queries.search_records(agent, organisation, "Quérard") == [
        ResidentRecord.objects.get(pk=twin.pk)]


def test_the_person_gets_their_documents_in_their_data_and_erasure_removes_them(
        organisation, agent, done_scan, record):
    from mairie.core.privacy.registry import activities

    account = UserFactory(organisation=organisation, email="martine.dupuis@example.org")
    ResidentRecord.objects.filter(pk=record.pk).update(account=account)
    activity = next(a for a in activities() if a.key == "crm.counter_scans")
    rows = activity.export(account, organisation)
    assert rows[0]["document"] == "Acte de naissance" and "Élisabeth" in rows[0]["text"]
    outcome = activity.erase(account, organisation)
    assert "1 documents numérisés supprimés" in outcome["erased"][0]
    assert not CounterScan.objects.exists()
    assert not StoredFile.objects.filter(purpose=services_scans.SCAN_PURPOSE).exists()
    assert search(agent, organisation, "Quérard") == []


# --- On a real Celery worker --------------------------------------------------------------------

@pytest.fixture
def worker_media(settings, tmp_path, monkeypatch):
    """The worker process stores files where the test reads them."""
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))


@pytest.mark.ocr
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reads_the_document(tesseract, worker_media,
                                          celery_worker_process,  # noqa: F811
                                          client, organisation, agent, record):
    from mairie.core.notifications.tests.conftest import wait_until

    client.force_login(agent)
    assert post_scan(client, record, french_page()).status_code == 302
    scan = CounterScan.objects.get()
    wait_until(lambda: CounterScan.objects.exclude(state=CounterScan.State.PENDING).exists(),
               timeout=120, what="the worker to read the scan")
    scan.refresh_from_db()
    assert scan.state == CounterScan.State.DONE, (scan.problem, celery_worker_process.output())
    assert "Élisabeth" in scan.text
    assert "mairie.crm.tasks.read_counter_scan" in celery_worker_process.output()
    assert queries.search_records(agent, organisation, "Quérard") == [record]
    assert [h.object_id for h in search(agent, organisation, "Quérard")] == [str(scan.pk)]
