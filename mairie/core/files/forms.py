"""Upload fields for every app's forms.

`StoredFileField(purpose=...)` checks type and size as soon as the form is validated, so the
message lands in the form's error summary with the rest of the typed data kept; it also tells
the browser (`accept`) and the person (help text) what is expected. The antivirus runs when the
file is stored: call `save_upload(form, "field", ...)` from the view, which puts a refusal
(virus, scanner down) on the same field instead of raising.

    class AttachmentForm(forms.Form):
        title = forms.CharField(label=_("Titre"))
        file = StoredFileField(purpose="procedures.attachment", label=_("Pièce jointe"))

    if form.is_valid():
        stored = save_upload(form, "file", actor=request.user,
                             organisation=request.organisation, purpose="procedures.attachment")
        if stored is not None:
            ...
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from .detection import format_size
from .models import StoredFile
from .purposes import get_purpose
from .services import allowed_types_label, inspect_upload, size_limit, store_upload


def _help_text(purpose: str) -> str:
    spec = get_purpose(purpose)
    return _("Formats acceptés : %(types)s. Taille maximale : %(size)s.") % {
        "types": allowed_types_label(spec), "size": format_size(size_limit(spec))}


class UploadInput(forms.ClearableFileInput):
    """A file input whose `accept` attribute lists the purpose's types (a hint for the
    browser's file picker; the server checks the content anyway)."""

    purpose = ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.purpose:
            context["widget"]["attrs"].setdefault(
                "accept", ",".join(sorted(get_purpose(self.purpose).allowed)))
        return context


class StoredFileField(forms.FileField):
    widget = UploadInput

    def __init__(self, *, purpose: str, **kwargs) -> None:
        # Resolved lazily: forms are often declared before apps register their purposes.
        self.purpose = purpose
        kwargs.setdefault("help_text", lazy(_help_text, str)(purpose))
        super().__init__(**kwargs)
        self.widget.purpose = purpose

    def clean(self, data, initial=None):
        uploaded = super().clean(data, initial)
        if uploaded and uploaded is not initial and hasattr(uploaded, "chunks"):
            inspect_upload(uploaded, purpose=self.purpose)
        return uploaded


def save_upload(form: forms.BaseForm, field_name: str, *, actor, organisation, purpose: str,
                is_public: bool = False, request: HttpRequest | None = None,
                ) -> StoredFile | None:
    """Store the form's file; on refusal add the message to the field and return None."""
    uploaded = form.cleaned_data.get(field_name)
    if not uploaded:
        return None
    try:
        return store_upload(actor=actor, organisation=organisation, uploaded_file=uploaded,
                            purpose=purpose, is_public=is_public, request=request)
    except ValidationError as error:
        form.add_error(field_name, error)
        return None
