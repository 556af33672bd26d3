"""A file refused when it is stored (a virus, the scanner down) is refused alone: the rest of
the page is saved, the refusal is shown next to the field and stays in the audit trail."""

from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.files.models import StoredFile
from mairie.core.files.testing import EICAR, FakeClamd, pdf_bytes, upload

from .helpers import FIRST_PAGE, post_page, start


def test_a_virus_is_refused_but_the_page_is_saved(client, settings, tmp_path, resident,
                                                  procedure):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(resident)
    dossier, _ = start(client, procedure)
    assert post_page(client, dossier, "identite", FIRST_PAGE).status_code == 302
    with FakeClamd() as clamd:
        settings.MAIRIE_CLAMD_URL = clamd.url
        response = post_page(client, dossier, "contact",
                             {"courriel": "nouvelle@example.org",
                              "piece": upload("justificatif.pdf", pdf_bytes() + EICAR)})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Le fichier contient un virus : Eicar-Test-Signature." in body
    dossier.refresh_from_db()
    assert dossier.data["courriel"] == "nouvelle@example.org"  # the page was saved
    assert not dossier.data.get("piece") and not StoredFile.objects.exists()
    assert AuditEvent.objects.filter(action="files.virus_refused").count() == 1

    # A clean file on the next try is stored and linked.
    with FakeClamd() as clamd:
        settings.MAIRIE_CLAMD_URL = clamd.url
        response = post_page(client, dossier, "contact",
                             {"courriel": "nouvelle@example.org",
                              "piece": upload("justificatif.pdf", pdf_bytes())})
    assert response.status_code == 302
    assert response["Location"] == reverse("procedures:review", args=[dossier.pk])
    dossier.refresh_from_db()
    assert dossier.data["piece"] == str(StoredFile.objects.get().pk)


def test_a_disguised_program_is_refused_next_to_its_field_and_nothing_is_lost(
        client, settings, tmp_path, resident, procedure):
    from mairie.core.files.testing import exe_bytes

    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(resident)
    dossier, _ = start(client, procedure)
    assert post_page(client, dossier, "identite", FIRST_PAGE).status_code == 302
    response = post_page(client, dossier, "contact",
                         {"courriel": "gardee@example.org",
                          "piece": upload("justificatif.pdf", exe_bytes(), "application/pdf")})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Le fichier est de type EXE (programme Windows)" in body
    assert 'id="error-summary"' in body and 'value="gardee@example.org"' in body
    dossier.refresh_from_db()
    assert dossier.data["courriel"] == "gardee@example.org" and not dossier.data.get("piece")
    assert not StoredFile.objects.exists()
