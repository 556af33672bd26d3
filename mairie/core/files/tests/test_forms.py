"""The upload field other apps put in their forms: errors in the summary, data kept."""

import pytest
from django import forms
from django.template.loader import render_to_string

from mairie.core.files.forms import StoredFileField, save_upload
from mairie.core.files.models import StoredFile
from mairie.core.files.testing import EICAR, FakeClamd, exe_bytes, pdf_bytes, upload


class RequestForm(forms.Form):
    subject = forms.CharField(label="Objet")
    attachment = StoredFileField(purpose="tests.attachment", label="Pièce jointe")


def _summary(form) -> str:
    return render_to_string("components/form.html", {"form": form})


@pytest.mark.django_db
def test_a_refused_file_shows_in_the_error_summary_and_keeps_the_rest(attachment_purpose):
    form = RequestForm(data={"subject": "Demande d'acte de naissance"},
                       files={"attachment": upload("acte.pdf", exe_bytes(), "application/pdf")})
    assert not form.is_valid()
    message = ("Le fichier est de type EXE (programme Windows), seuls PDF, JPEG et PNG sont "
               "acceptés.")
    assert form.errors["attachment"] == [message]
    assert form["subject"].value() == "Demande d'acte de naissance"
    html = _summary(form)
    assert "error-summary" in html and "acceptés." in html
    assert 'value="Demande d&#x27;acte de naissance"' in html


@pytest.mark.django_db
def test_the_field_tells_what_is_accepted(attachment_purpose):
    html = _summary(RequestForm())
    assert 'accept="application/pdf,image/jpeg,image/png"' in html
    assert "Formats acceptés : PDF, JPEG et PNG. Taille maximale : 10 Mo." in html


@pytest.mark.django_db
def test_save_upload_stores_a_valid_file(resident, organisation, attachment_purpose):
    form = RequestForm(data={"subject": "Acte"},
                       files={"attachment": upload("acte.pdf", pdf_bytes())})
    assert form.is_valid()
    stored = save_upload(form, "attachment", actor=resident, organisation=organisation,
                         purpose="tests.attachment")
    assert stored == StoredFile.objects.get() and not form.errors


@pytest.mark.django_db
def test_save_upload_puts_a_virus_on_the_field(settings, resident, organisation,
                                               attachment_purpose):
    form = RequestForm(data={"subject": "Acte"},
                       files={"attachment": upload("acte.pdf", pdf_bytes() + EICAR)})
    assert form.is_valid()  # type and size are fine; the antivirus runs when storing
    with FakeClamd() as clamd:
        settings.MAIRIE_CLAMD_URL = clamd.url
        stored = save_upload(form, "attachment", actor=resident, organisation=organisation,
                             purpose="tests.attachment")
    assert stored is None and not StoredFile.objects.exists()
    assert form.errors["attachment"] == ["Le fichier contient un virus : Eicar-Test-Signature."]
    assert "Le fichier contient un virus" in _summary(form)
