"""The organisation settings form (administrators, in the agent workspace)."""

import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from mairie.core.files.purposes import get_purpose
from mairie.core.tenancy.colours import validate_contrast_with_white
from mairie.core.tenancy.models import Organisation, colour_validator
from mairie.core.tenancy.services import SETTINGS_FIELDS


def _time_zone_choices():
    return [(tz, tz) for tz in sorted(zoneinfo.available_timezones())
            if "/" in tz and not tz.startswith(("Etc/", "SystemV/", "US/"))]


class OrganisationSettingsForm(forms.ModelForm):
    # The `updated_at` the administrator started from (optimistic concurrency).
    version = forms.CharField(widget=forms.HiddenInput)
    logo_upload = forms.FileField(
        label=_("Nouveau logo"), required=False,
        help_text=_("Image PNG, JPEG ou WebP, affichée en haut de chaque page à côté du nom de "
                    "la collectivité. Hauteur affichée : 48 pixels."),
        widget=forms.FileInput)
    remove_logo = forms.BooleanField(label=_("Retirer le logo actuel"), required=False)

    fieldsets = (
        (_("Identité et coordonnées"),
         ("name", "address", "phone", "email", "website", "siret", "time_zone")),
        (_("Mentions légales et données personnelles"),
         ("legal_representative", "host_name", "dpo_name", "dpo_email",
          "personal_data_retention_months")),
        (_("Accessibilité (RGAA)"),
         ("accessibility_status", "accessibility_audit_date", "accessibility_rate")),
        (_("Apparence"), ("primary_colour", "secondary_colour", "logo_upload", "remove_logo")),
    )

    class Meta:
        model = Organisation
        fields = list(SETTINGS_FIELDS)
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
            "accessibility_audit_date": forms.DateInput(attrs={"type": "date"},
                                                        format="%Y-%m-%d"),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "website": forms.URLInput(attrs={"autocomplete": "url"}),
        }
        help_texts = {
            "primary_colour": _("Format #RRGGBB, par exemple #000091. Utilisée pour les liens, "
                                "les boutons et le bandeau : le contraste avec le blanc doit "
                                "atteindre 4,5:1."),
            "secondary_colour": _("Format #RRGGBB. Utilisée pour les pastilles et le bandeau de "
                                  "l'espace agent ; même exigence de contraste."),
            "website": _("Adresse du site principal de la collectivité, en https."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["version"] = self.instance.updated_at.isoformat()
        self.fields["time_zone"] = forms.ChoiceField(
            label=self.fields["time_zone"].label, choices=_time_zone_choices())
        self.fields["accessibility_rate"].max_value = 100
        self.fields["accessibility_rate"].widget.attrs.update({"min": 0, "max": 100})
        self.fields["accessibility_rate"].validators.append(MaxValueValidator(100))
        for name in ("primary_colour", "secondary_colour"):
            self.fields[name].widget.attrs.update(
                {"spellcheck": "false", "autocapitalize": "off", "size": 8})
        self.fields["logo_upload"].widget.attrs["accept"] = ",".join(
            sorted(get_purpose("logo").allowed))
        if not self.instance.logo_id:
            del self.fields["remove_logo"]

    def field_groups(self):
        """The visible fields grouped for <fieldset>s, in the order of `fieldsets`."""
        return [(legend, [self[name] for name in names if name in self.fields])
                for legend, names in self.fieldsets]

    def clean_version(self):
        version = parse_datetime(self.cleaned_data["version"])
        if version is None:
            raise ValidationError(_("Version du formulaire illisible : rechargez la page."))
        return version

    def _clean_colour(self, name):
        colour = self.cleaned_data[name].strip().lower()
        colour_validator(colour)
        validate_contrast_with_white(colour)
        return colour

    def clean_primary_colour(self):
        return self._clean_colour("primary_colour")

    def clean_secondary_colour(self):
        return self._clean_colour("secondary_colour")

    def clean_website(self):
        website = self.cleaned_data["website"]
        if website and not website.startswith("https://"):
            raise ValidationError(_("Indiquez une adresse sécurisée, commençant par https://."))
        return website

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in SETTINGS_FIELDS}
