"""Forms of the citizen records (agent workspace)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Interaction, ResidentRecord
from .services import IDENTITY_FIELDS


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Nom, courriel, téléphone ou numéro de dossier"),
                        max_length=200, required=False,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "autocomplete": "off"}))


class RecordForm(forms.ModelForm):
    lock_version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = ResidentRecord
        fields = IDENTITY_FIELDS
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        help_texts = {
            "phone": _("Par exemple 06 12 34 56 78."),
            "notes": _("Ce qu'un collègue doit savoir pour bien accueillir la personne "
                       "(langue, aide nécessaire…). Visible par tous les agents."),
        }

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone") and not data.get("address"):
            self.add_error(None, _("Indiquez au moins un moyen de joindre la personne : "
                                   "courriel, téléphone ou adresse."))
        return data

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in IDENTITY_FIELDS}


class InteractionForm(forms.ModelForm):
    service = forms.ModelChoiceField(label=_("Pour le service"), queryset=None,
                                     empty_label=None)

    class Meta:
        model = Interaction
        fields = ("service", "channel", "subject", "outcome", "notes", "follow_up",
                  "follow_up_due")
        widgets = {"notes": forms.Textarea(attrs={"rows": 3}),
                   "follow_up_due": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["channel"].initial = "counter"
        self.fields["outcome"].initial = Interaction.Outcome.ANSWERED

    def clean(self):
        data = super().clean()
        due = data.get("follow_up_due")
        if due and due < timezone.localdate():
            self.add_error("follow_up_due", _("Cette date est passée : choisissez aujourd'hui "
                                              "ou une date à venir."))
        if data.get("outcome") == Interaction.Outcome.FOLLOW_UP and not data.get("follow_up"):
            self.add_error("follow_up", _("Dites ce qu'il reste à faire."))
        return data

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name != "service"}


class MergeForm(forms.Form):
    absorbed = forms.UUIDField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label=_("Je confirme qu'il s'agit de la même personne"),
        error_messages={"required": _("Cochez la case pour confirmer qu'il s'agit de la même "
                                      "personne.")})


class HelpRequestForm(forms.ModelForm):
    """The public help page (and the mediator noting a call): plain words, few fields."""

    # Left empty by people; robots that fill every field are refused (hidden from everyone).
    website = forms.CharField(required=False, label=_("Ne pas remplir"))

    class Meta:
        from .models import HelpRequest

        model = HelpRequest
        fields = ("name", "phone", "email", "relative_name", "topic", "message", "best_time")
        labels = {"name": _("Nom et prénom de la personne à aider"),
                  "relative_name": _("Vous demandez pour un proche ? Votre nom"),
                  "topic": _("Pour quoi avez-vous besoin d'aide ?"),
                  "message": _("Dites-nous en quelques mots ce qui bloque"),
                  "best_time": _("Quand peut-on vous rappeler ?")}
        help_texts = {"phone": _("Nous vous rappelons à ce numéro. Par exemple 06 12 34 56 78."),
                      "email": _("Si vous préférez une réponse par courriel."),
                      "best_time": _("Par exemple : le matin, après 17 h, le mercredi.")}
        widgets = {"topic": forms.RadioSelect, "message": forms.Textarea(attrs={"rows": 4}),
                   "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
                   "email": forms.EmailInput(attrs={"autocomplete": "email"}),
                   "name": forms.TextInput(attrs={"autocomplete": "name"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import HelpRequest

        self.fields["topic"].choices = HelpRequest.Topic.choices  # no "---------" radio

    def clean(self):
        data = super().clean()
        if data.get("website"):
            raise forms.ValidationError(_("Votre demande n'a pas pu être enregistrée. "
                                          "Appelez la mairie."))
        if not data.get("phone") and not data.get("email"):
            self.add_error("phone", _("Laissez un numéro de téléphone ou une adresse de "
                                      "courriel pour que l'on puisse vous répondre."))
        return data

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class CloseHelpForm(forms.Form):
    from .models import HelpRequest as _HelpRequest

    outcome = forms.ChoiceField(label=_("Qu'avez-vous fait ?"),
                                choices=_HelpRequest.Outcome.choices, widget=forms.RadioSelect)
    notes = forms.CharField(label=_("Compte rendu"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))
    record = forms.ChoiceField(label=_("Fiche de la personne"), widget=forms.RadioSelect)
    lock_version = forms.CharField(widget=forms.HiddenInput)

    NEW = "new"

    def __init__(self, *args, records, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = {str(r.pk): r for r in records}
        self.fields["record"].choices = [
            *[(pk, f"{r.full_name}" + (f" — {r.summary_line}" if r.summary_line else ""))
              for pk, r in self.records.items()],
            (self.NEW, _("Créer une nouvelle fiche avec ces coordonnées"))]
        self.fields["record"].initial = next(iter(self.records), self.NEW)

    def chosen_record(self):
        return self.records.get(self.cleaned_data["record"])


class MandateForm(forms.Form):
    from .models_mandates import Domain as _Domain
    from .models_mandates import Duration as _Duration
    from .models_mandates import Mandate as _Mandate

    domains = forms.MultipleChoiceField(
        label=_("Pour quels domaines la personne vous confie-t-elle ses démarches ?"),
        choices=_Domain.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choisissez au moins un domaine.")})
    duration = forms.ChoiceField(label=_("Pour combien de temps ?"), choices=_Duration.choices,
                                 widget=forms.RadioSelect, initial=_Duration.MONTH)
    consent_method = forms.ChoiceField(
        label=_("Comment la personne donne-t-elle son accord ?"), widget=forms.RadioSelect,
        choices=[(_Mandate.Consent.EMAIL, _("Par un code envoyé à son adresse de courriel")),
                 (_Mandate.Consent.SMS, _("Par un code envoyé par SMS à son téléphone mobile")),
                 (_Mandate.Consent.PAPER, _("En signant le mandat papier, que vous numérisez"))],
        initial=_Mandate.Consent.EMAIL)


class MandateCodeForm(forms.Form):
    code = forms.CharField(label=_("Code reçu par la personne"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                         "autocomplete": "one-time-code"}))


class MandatePaperForm(forms.Form):
    from .services_mandates import PAPER_PURPOSE as _PAPER

    scan = forms.FileField(label=_("Mandat signé, numérisé (PDF, JPEG ou PNG)"))
    purpose = _PAPER


class ScanForm(forms.Form):
    """A document scanned or photographed at the counter (`services_scans`)."""

    from mairie.core.files.forms import StoredFileField as _StoredFileField
    from mairie.core.files.forms import UploadInput as _UploadInput

    from .services_scans import SCAN_PURPOSE as _SCAN

    # `capture`: on a phone or a tablet, the back camera opens directly.
    file = _StoredFileField(
        purpose=_SCAN, label=_("Document scanné ou photographié"),
        widget=_UploadInput(attrs={"accept": "image/*,application/pdf",
                                   "capture": "environment"}))
    title = forms.CharField(label=_("Ce que c'est (facultatif)"), max_length=200,
                            required=False,
                            help_text=_("Par exemple : acte de naissance, justificatif de "
                                        "domicile."))
    service = forms.ModelChoiceField(label=_("Pour le service"), queryset=None,
                                     empty_label=None)
    dossier = forms.ChoiceField(label=_("Joindre à un dossier (facultatif)"), required=False)

    def __init__(self, *args, services, dossiers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.dossiers = {str(d.pk): d for d in dossiers}
        self.fields["dossier"].choices = [("", _("Aucun : seulement sur la fiche"))] + [
            (str(d.pk), (f"{d.version.definition.title}, n° {d.number}" if d.number else
                         _("%(title)s (en cours de dépôt)") % {
                             "title": d.version.definition.title}))
            for d in dossiers]

    def chosen_dossier(self):
        return self.dossiers.get(self.cleaned_data.get("dossier") or "")
