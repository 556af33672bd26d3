"""`files:download`: who may read what, on which host, and how the bytes are handed over."""

import uuid

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory
from mairie.core.files.purposes import register_purpose, unregister_purpose
from mairie.core.files.services import store_upload
from mairie.core.files.testing import pdf_bytes, png_bytes, upload
from mairie.core.organisation.queries import roles_of

OTHER_HOST = "autre.localhost"


@pytest.fixture
def private_pdf(resident, organisation, attachment_purpose):
    return store_upload(actor=resident, organisation=organisation, purpose=attachment_purpose,
                        uploaded_file=upload("Justificatif de domicile.pdf", pdf_bytes()))


@pytest.fixture
def logo(administrator, organisation):
    stored = store_upload(actor=administrator, organisation=organisation, purpose="logo",
                          uploaded_file=upload("logo.png", png_bytes(3, 2)), is_public=True)
    organisation.logo = stored
    organisation.save(update_fields=["logo"])
    return stored


def _url(stored):
    return reverse("files:download", args=[stored.pk])


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_the_uploader_downloads_the_file_as_an_attachment(client, resident, private_pdf):
    client.force_login(resident)
    response = client.get(_url(private_pdf))
    assert response.status_code == 200
    assert _body(response) == pdf_bytes()
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == (
        'attachment; filename="Justificatif de domicile.pdf"')
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    # The owner reading their own file is not an event worth auditing.
    assert not AuditEvent.objects.filter(action="files.downloaded").exists()


@pytest.mark.django_db
def test_a_mislabelled_file_downloads_with_the_extension_of_its_real_type(
        client, resident, organisation, attachment_purpose):
    stored = store_upload(actor=resident, organisation=organisation, purpose=attachment_purpose,
                          uploaded_file=upload("Scan élève.pdf", png_bytes(), "application/pdf"))
    client.force_login(resident)
    response = client.get(_url(stored))
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == (
        "inline; filename*=utf-8''Scan%20%C3%A9l%C3%A8ve.pdf.png")


@pytest.mark.django_db
def test_another_resident_gets_404(client, organisation, private_pdf):
    client.force_login(UserFactory(organisation=organisation))
    assert client.get(_url(private_pdf)).status_code == 404


@pytest.mark.django_db
def test_an_agent_without_a_reading_rule_gets_404(client, agent, private_pdf):
    client.force_login(agent)
    assert client.get(_url(private_pdf)).status_code == 404


@pytest.mark.django_db
def test_an_administrator_reads_it_and_the_read_is_audited(client, administrator, private_pdf):
    client.force_login(administrator)
    response = client.get(_url(private_pdf))
    assert response.status_code == 200 and _body(response) == pdf_bytes()
    event = AuditEvent.objects.get(action="files.downloaded")
    assert event.actor == administrator and event.object_id == str(private_pdf.pk)


@pytest.mark.django_db
def test_a_purpose_can_open_reading_to_its_agents(client, agent, resident, organisation):
    register_purpose("tests.dossier", allowed={"application/pdf"}, max_bytes=10_000,
                     can_read=lambda user, f: bool(roles_of(user, f.organisation)))
    try:
        stored = store_upload(actor=resident, organisation=organisation, purpose="tests.dossier",
                              uploaded_file=upload("piece.pdf", pdf_bytes()))
        client.force_login(agent)
        assert client.get(_url(stored)).status_code == 200
        client.force_login(UserFactory(organisation=organisation))
        assert client.get(_url(stored)).status_code == 404
    finally:
        unregister_purpose("tests.dossier")


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login_whether_the_file_exists_or_not(client,
                                                                             private_pdf):
    for pk in (private_pdf.pk, uuid.uuid4()):
        response = client.get(reverse("files:download", args=[pk]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_the_other_organisations_host_never_serves_the_file(client, foreign_agent, private_pdf,
                                                            logo):
    client.force_login(foreign_agent)
    assert client.get(_url(private_pdf), HTTP_HOST=OTHER_HOST).status_code == 404
    assert client.get(_url(logo), HTTP_HOST=OTHER_HOST).status_code == 404
    # On our host, the foreign session is worthless: treated as anonymous.
    assert client.get(_url(private_pdf)).status_code == 302


@pytest.mark.django_db
def test_the_public_logo_is_readable_by_anyone_on_its_host(client, logo):
    response = client.get(_url(logo))
    assert response.status_code == 200
    assert _body(response) == png_bytes(3, 2)
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="logo.png"'
    assert response["Cache-Control"] == "public, max-age=300"
    # …and the portal's header shows it.
    assert _url(logo) in client.get("/").content.decode()


@pytest.mark.django_db
def test_x_accel_mode_hands_the_file_to_nginx(settings, client, resident, private_pdf):
    settings.MAIRIE_FILE_DELIVERY = "x-accel"
    settings.MAIRIE_X_ACCEL_PREFIX = "/protected/"
    client.force_login(resident)
    response = client.get(_url(private_pdf))
    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Accel-Redirect"] == "/protected/" + private_pdf.file.name
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_redirect_mode_sends_a_short_lived_signed_s3_url(settings, client, resident,
                                                         private_pdf):
    settings.MAIRIE_FILE_DELIVERY = "redirect"
    settings.MAIRIE_FILE_URL_EXPIRY = 60
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": "mairie-test", "endpoint_url": "https://s3.example.test",
            "region_name": "fr-par", "access_key": "AKTEST", "secret_key": "secret",
            "querystring_auth": True, "signature_version": "s3v4"}},
    }
    client.force_login(resident)
    response = client.get(_url(private_pdf))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"https://s3.example.test/mairie-test/{private_pdf.file.name}?")
    assert "X-Amz-Expires=60" in location and "X-Amz-Signature=" in location
    assert "response-content-type=application%2Fpdf" in location
    assert "response-content-disposition=attachment" in location


@pytest.mark.django_db
def test_an_unreadable_id_is_404_for_a_signed_in_user(client, resident):
    client.force_login(resident)
    assert client.get(reverse("files:download", args=[uuid.uuid4()])).status_code == 404
