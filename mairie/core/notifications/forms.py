"""Forms of the notifications pages: one e-mail frequency per kind, as a formset."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Frequency


class KindPreferenceForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput)
    frequency = forms.ChoiceField(label=_("Recevoir un courriel"), choices=Frequency.choices,
                                  widget=forms.RadioSelect)

    def __init__(self, *args, allowed_kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_kinds = allowed_kinds or {}
        code = self.initial.get("kind") or self.data.get(self.add_prefix("kind"))
        #: the registered kind shown as the legend of this form's fieldset
        self.kind_definition = self.allowed_kinds.get(code)

    def clean_kind(self):
        code = self.cleaned_data["kind"]
        if code not in self.allowed_kinds:
            raise forms.ValidationError(_("Type de notification inconnu."))
        return code


class BasePreferenceFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            code = form.cleaned_data.get("kind")
            if code in seen:
                raise forms.ValidationError(_("Un type de notification apparaît deux fois."))
            seen.add(code)

    def frequencies(self) -> dict[str, str]:
        return {f.cleaned_data["kind"]: f.cleaned_data["frequency"] for f in self.forms
                if f.cleaned_data}


def preference_formset(kinds, *, data=None, initial_frequencies=None):
    """A formset with one form per kind; the submitted kinds are checked against `kinds`."""
    allowed = {k.code: k for k in kinds}
    FormSet = forms.formset_factory(KindPreferenceForm, formset=BasePreferenceFormSet, extra=0,
                                    max_num=len(kinds), absolute_max=len(kinds),
                                    validate_max=True)
    initial = [{"kind": k.code, "frequency": (initial_frequencies or {}).get(
        k.code, k.default_frequency)} for k in kinds]
    return FormSet(data=data, initial=initial, prefix="kinds",
                   form_kwargs={"allowed_kinds": allowed})
