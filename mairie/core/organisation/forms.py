"""Forms of the organisation chart. They validate input; the services decide and write."""

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from .models import Role, Service
from .queries import descendants_of


class ServiceForm(forms.ModelForm):
    """Create or edit a service; the parent is chosen among the organisation's other services
    (never itself nor one of its sub-services, which would make the tree loop)."""

    class Meta:
        model = Service
        fields = ["name", "slug", "parent", "email", "description"]
        help_texts = {
            "slug": _("Lettres minuscules, chiffres et tirets, utilisé dans les adresses. "
                      "Laissez vide pour le calculer à partir du nom."),
            "parent": _("La direction (ou le service) dont il dépend. Laissez vide pour un "
                        "service de premier niveau."),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.instance.organisation = organisation
        self.fields["slug"].required = False
        excluded = set()
        if self.instance.pk:
            excluded = descendants_of(self.instance) | {self.instance.pk}
        self.fields["parent"].queryset = (Service.objects.filter(organisation=organisation)
                                          .exclude(pk__in=excluded).order_by("name"))
        self.fields["parent"].empty_label = _("— aucun (premier niveau) —")
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def clean_slug(self):
        slug = self.cleaned_data.get("slug") or slugify(self.cleaned_data.get("name") or "")
        if not slug:
            raise forms.ValidationError(_("Indiquez un identifiant."))
        taken = (Service.objects.filter(organisation=self.organisation, slug=slug)
                 .exclude(pk=self.instance.pk).exists())
        if taken:
            raise forms.ValidationError(_("Un autre service de la collectivité utilise déjà "
                                          "cet identifiant."))
        return slug

    def validate_unique(self):
        """Uniqueness is checked in clean_slug (scoped to the organisation)."""


class AddMemberForm(forms.Form):
    email = forms.EmailField(
        label=_("Adresse électronique de l'agent"),
        help_text=_("Un agent déjà inscrit dans la collectivité, ou une nouvelle adresse : un "
                    "compte est alors créé et une invitation lui est envoyée pour choisir son "
                    "mot de passe."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices, initial=Role.AGENT)
    first_name = forms.CharField(label=_("Prénom (nouveau compte)"), max_length=150,
                                 required=False)
    last_name = forms.CharField(label=_("Nom (nouveau compte)"), max_length=150,
                                required=False)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices)
