from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import PrivacyRequest


class PrivacyRequestForm(forms.ModelForm):
    class Meta:
        model = PrivacyRequest
        fields = ("kind", "requester_name", "requester_email", "received_on", "details")
        widgets = {"kind": forms.RadioSelect,
                   "received_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "details": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"requester_email": _("Si un compte utilise cette adresse, la demande "
                                           "lui est rattachée.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = PrivacyRequest.Kind.choices
        self.fields["received_on"].initial = timezone.localdate()

    def clean_received_on(self):
        day = self.cleaned_data["received_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("Cette date est à venir : une demande est reçue "
                                          "aujourd'hui ou avant."))
        return day


class CloseRequestForm(forms.Form):
    status = forms.ChoiceField(label=_("Issue"), widget=forms.RadioSelect, choices=[
        (PrivacyRequest.Status.DONE, _("Traitée")),
        (PrivacyRequest.Status.REFUSED, _("Refusée (motivée)"))])
    answer = forms.CharField(label=_("Réponse faite à la personne"), required=False,
                             widget=forms.Textarea(attrs={"rows": 4}))
    lock_version = forms.CharField(widget=forms.HiddenInput)
