"""Forms of the procedure builder (agents' workspace). They only parse what was typed; the
rules (key uniqueness, conditions compiled against the form's keys, type options) are checked
by `builder.py`, whose errors the views put back next to each input."""

from __future__ import annotations

import decimal
from typing import Any

from django import forms
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from mairie.core.files.detection import type_label
from mairie.core.mandate_domains import MandateDomain
from mairie.core.organisation.models import Role

from .builder import key_from_label
from .fieldtypes import DEFAULT_FILE_TYPES, FIELD_TYPES, POSTCODE_PATTERNS, PREFILL_SOURCES
from .models import Audience, Theme, Workflow

PREFILL_LABELS = {
    "user.email": _("Adresse électronique du compte"),
    "user.first_name": _("Prénom du compte"),
    "user.last_name": _("Nom du compte"),
    "user.phone": _("Téléphone du compte"),
}
PREFILLABLE_TYPES = ("text", "email", "phone")
# Where a type's option errors are shown (the input the agent must correct).
OPTION_INPUT = {"choice": "choices", "multichoice": "choices", "number": "minimum",
                "date": "date_min", "file": "allowed", "block": "block_min",
                "phone": "region", "text": "max_length", "textarea": "max_length"}


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class SettingsForm(forms.Form):
    """A procedure's settings, its workflow and who plays each workflow role."""

    title = forms.CharField(label=_("Titre"), max_length=200,
                            help_text=_("Tel que les usagers le liront dans le catalogue, par "
                                        "exemple « Demande d'acte de naissance »."))
    slug = forms.SlugField(label=_("Identifiant dans l'adresse de la page"), max_length=100,
                           required=False,
                           help_text=_("Laissez vide pour le déduire du titre. Minuscules, "
                                       "chiffres et tirets."))
    description = forms.CharField(label=_("Description en langage simple"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    documents_to_prepare = forms.CharField(label=_("Pièces à préparer"), required=False,
                                           widget=forms.Textarea(attrs={"rows": 3}))
    service = forms.ModelChoiceField(label=_("Service responsable"), queryset=None,
                                     empty_label=None)
    theme = forms.ModelChoiceField(label=_("Thème du catalogue"), queryset=None, required=False,
                                   empty_label=_("Sans thème"))
    audience = forms.ChoiceField(label=_("Qui peut déposer"), choices=Audience.choices,
                                 widget=forms.RadioSelect)
    opens_at = forms.DateTimeField(label=_("Ouverture"), required=False, widget=DateTimeInput,
                                   input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M",
                                                  "%d/%m/%Y"],
                                   help_text=_("Vide : ouverte dès la publication."))
    closes_at = forms.DateTimeField(label=_("Clôture"), required=False, widget=DateTimeInput,
                                    input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M",
                                                   "%d/%m/%Y"],
                                    help_text=_("Vide : pas de date de clôture."))
    max_submissions = forms.IntegerField(label=_("Nombre maximal de dossiers"), required=False,
                                         min_value=1,
                                         help_text=_("Vide : pas de limite."))
    mandate_domain = forms.ChoiceField(
        label=_("Domaine pour les mandats d'aide"), required=False,
        choices=[("", _("Aucun")), *MandateDomain.choices],
        help_text=_("Un aidant ne dépose cette démarche dans le compte d'un usager qu'avec un "
                    "mandat de cet usager pour ce domaine."))
    workflow = forms.ModelChoiceField(label=_("Circuit de traitement"), queryset=None,
                                      empty_label=None,
                                      help_text=_("Les étapes par lesquelles passe un dossier. "
                                                  "Il s'applique à la prochaine version "
                                                  "publiée."))
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, organisation, services, workflow: Workflow | None = None,
                 mappings: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["theme"].queryset = Theme.objects.filter(organisation=organisation)
        self.fields["workflow"].queryset = Workflow.objects.filter(organisation=organisation)
        from mairie.core.organisation.queries import services_of

        chosen = workflow
        if self.is_bound:
            try:
                chosen = self.fields["workflow"].clean(self.data.get("workflow")) or workflow
            except forms.ValidationError:
                chosen = workflow
        self.workflow = chosen
        self.role_fields: list[tuple[str, str, str]] = []
        for role in (chosen.role_keys() if chosen else []):
            label = chosen.role_label(role)
            service_name, membership_name = f"role_{role}_service", f"role_{role}_membership"
            self.fields[service_name] = forms.ModelChoiceField(
                label=_("Service qui joue le rôle « %(role)s »") % {"role": label},
                queryset=services_of(organisation).order_by("name"), required=False,
                empty_label=_("Les agents du service responsable"))
            self.fields[membership_name] = forms.ChoiceField(
                label=_("Rôle dans ce service (rôle « %(role)s »)") % {"role": label},
                choices=[("", _("Tous les agents du service")), *Role.choices],
                required=False)
            service, membership_role = (mappings or {}).get(role, (None, ""))
            self.initial.setdefault(service_name, service)
            self.initial.setdefault(membership_name, membership_role)
            self.role_fields.append((label, service_name, membership_name))

    @property
    def main_fields(self):
        names = ("title", "slug", "description", "documents_to_prepare", "service", "theme",
                 "audience", "opens_at", "closes_at", "max_submissions", "mandate_domain",
                 "workflow")
        return [self[name] for name in names]

    @property
    def mapping_fields(self):
        return [(label, self[s], self[m]) for label, s, m in self.role_fields]

    def clean_version(self):
        text = self.cleaned_data.get("version") or ""
        if not text:
            return None
        version = parse_datetime(text)
        if version is None:
            raise forms.ValidationError(_("Version du formulaire illisible : rechargez la page."))
        return version

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("slug") and cleaned.get("title"):
            from django.utils.text import slugify

            cleaned["slug"] = slugify(cleaned["title"])[:100] or "demarche"
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("La clôture doit venir après l'ouverture."))
        return cleaned

    def values(self) -> dict[str, Any]:
        names = ("title", "slug", "description", "documents_to_prepare", "service", "theme",
                 "audience", "opens_at", "closes_at", "max_submissions", "mandate_domain")
        return {name: self.cleaned_data.get(name) for name in names}

    def mappings(self) -> dict[str, tuple[Any, str]]:
        found = {}
        for role in self.workflow.role_keys() if self.workflow else []:
            service = self.cleaned_data.get(f"role_{role}_service")
            found[role] = (service, self.cleaned_data.get(f"role_{role}_membership") or "") \
                if service else (None, "")
        return found


class ThemeForm(forms.Form):
    name = forms.CharField(label=_("Nom du thème"), max_length=200,
                           help_text=_("Une rubrique du catalogue, par exemple « Voirie et "
                                       "espace public »."))


class RevisionForm(forms.Form):
    """The draft's revision the agent saw (optimistic concurrency on the form)."""

    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class AddPageForm(RevisionForm):
    title = forms.CharField(label=_("Titre de la nouvelle page"), max_length=200)


class PageForm(RevisionForm):
    title = forms.CharField(label=_("Titre de la page"), max_length=200)
    key = forms.CharField(label=_("Clé"), max_length=50,
                          help_text=_("Nom court, en minuscules sans accent (lettres, chiffres "
                                      "et « _ »)."))
    condition = forms.CharField(
        label=_("Condition d'affichage"), required=False, max_length=500,
        help_text=_("Facultatif. La page n'est proposée que si la condition est vraie, par "
                    "exemple : situation == \"couple\". Vide : toujours affichée."))


def _choices_text(choices: list) -> str:
    return "\n".join(f"{c.get('value')} = {c.get('label')}" for c in choices
                     if isinstance(c, dict))


def _decimal_text(value: Any) -> str:
    return "" if value is None else str(value)


class FieldForm(RevisionForm):
    """One field of the form; the inputs depend on its type."""

    label = forms.CharField(label=_("Libellé (la question posée)"), max_length=500)
    key = forms.CharField(
        label=_("Clé"), max_length=50, required=False,
        help_text=_("Nom court de la réponse, utilisé dans les conditions. Vide : déduit du "
                    "libellé."))
    help = forms.CharField(label=_("Aide affichée sous la question"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    required = forms.BooleanField(label=_("Réponse obligatoire"), required=False)
    condition = forms.CharField(
        label=_("Condition d'affichage"), required=False, max_length=500,
        help_text=_("Facultatif. Le champ n'est demandé que si la condition est vraie, par "
                    "exemple : situation == \"couple\". Vide : toujours demandé."))
    prefill = forms.ChoiceField(label=_("Pré-remplir avec"), required=False)
    max_length = forms.IntegerField(label=_("Nombre maximal de caractères"), required=False,
                                    min_value=1, max_value=10_000)
    minimum = forms.CharField(label=_("Valeur minimale"), required=False, max_length=40)
    maximum = forms.CharField(label=_("Valeur maximale"), required=False, max_length=40)
    decimals = forms.IntegerField(label=_("Chiffres après la virgule"), required=False,
                                  min_value=0, max_value=6,
                                  help_text=_("0 pour un nombre entier ; vide : libre."))
    date_min = forms.CharField(label=_("Date au plus tôt"), required=False, max_length=10,
                               help_text=_("AAAA-MM-JJ, ou « today » pour aujourd'hui."))
    date_max = forms.CharField(label=_("Date au plus tard"), required=False, max_length=10,
                               help_text=_("AAAA-MM-JJ, ou « today » pour aujourd'hui."))
    choices = forms.CharField(
        label=_("Choix proposés"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Un choix par ligne. Écrivez « valeur = Libellé » pour fixer la valeur "
                    "utilisée dans les conditions, ou seulement le libellé."))
    region = forms.CharField(label=_("Pays par défaut (code à deux lettres)"), required=False,
                             max_length=2, help_text=_("FR, CH, BE…"))
    country = forms.ChoiceField(label=_("Pays des adresses"),
                                choices=[(code, code) for code in POSTCODE_PATTERNS])
    allowed = forms.MultipleChoiceField(label=_("Types de fichier acceptés"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    max_mb = forms.CharField(label=_("Taille maximale (Mo)"), required=False, max_length=10)
    block_min = forms.IntegerField(label=_("Nombre minimal d'éléments"), required=False,
                                   min_value=0, max_value=100)
    block_max = forms.IntegerField(label=_("Nombre maximal d'éléments"), required=False,
                                   min_value=1, max_value=100)

    OPTION_FIELDS = {
        "text": ("max_length",), "textarea": ("max_length",),
        "number": ("minimum", "maximum", "decimals"), "date": ("date_min", "date_max"),
        "choice": ("choices",), "multichoice": ("choices",), "phone": ("region",),
        "address": ("country",), "file": ("allowed", "max_mb"),
        "block": ("block_min", "block_max"),
    }
    COMMON = ("label", "key", "help", "required", "condition", "prefill")

    def __init__(self, *args, field_type: str, spec: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.field_type = field_type
        self.fields["prefill"].choices = [("", _("Rien (l'usager saisit)")),
                                          *[(s, PREFILL_LABELS[s]) for s in PREFILL_SOURCES]]
        self.fields["allowed"].choices = [(t, type_label(t)) for t in DEFAULT_FILE_TYPES]
        keep = set(self.COMMON) | set(self.OPTION_FIELDS.get(field_type, ())) | {"revision"}
        if field_type not in PREFILLABLE_TYPES:
            keep.discard("prefill")
        if field_type == "comment":
            keep -= {"help", "required", "prefill"}
            self.fields["label"] = forms.CharField(
                label=_("Texte affiché"), max_length=5000,
                widget=forms.Textarea(attrs={"rows": 4}))
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if spec and not self.is_bound:
            self.initial.update(self._initial_from(spec))

    @staticmethod
    def _initial_from(spec: dict) -> dict[str, Any]:
        options = spec.get("options") or {}
        return {
            "label": spec.get("label", ""), "key": spec.get("key", ""),
            "help": spec.get("help", ""), "required": bool(spec.get("required")),
            "condition": spec.get("condition", ""), "prefill": spec.get("prefill", ""),
            "max_length": options.get("max_length"),
            "minimum": _decimal_text(options.get("min")) if spec.get("type") == "number"
            else "",
            "maximum": _decimal_text(options.get("max")) if spec.get("type") == "number"
            else "",
            "decimals": options.get("decimals"),
            "date_min": options.get("min", "") if spec.get("type") == "date" else "",
            "date_max": options.get("max", "") if spec.get("type") == "date" else "",
            "choices": _choices_text(options.get("choices") or []),
            "region": options.get("region", ""), "country": options.get("country", "FR"),
            "allowed": options.get("allowed") or list(DEFAULT_FILE_TYPES),
            "max_mb": _decimal_text(options.get("max_mb")),
            "block_min": options.get("min") if spec.get("type") == "block" else None,
            "block_max": options.get("max") if spec.get("type") == "block" else None,
        }

    @property
    def type_label(self) -> str:
        return str(FIELD_TYPES[self.field_type].label)

    def _number(self, name: str) -> Any:
        text = (self.cleaned_data.get(name) or "").strip().replace(",", ".").replace(" ", "")
        if not text:
            return None
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            self.add_error(name, _("Saisissez un nombre, par exemple 12 ou 12,5."))
            return None
        return int(number) if number == number.to_integral_value() else float(number)

    def _choices(self) -> list[dict[str, str]]:
        found, values = [], set()
        for line in (self.cleaned_data.get("choices") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            value, sep, label = line.partition("=")
            value, label = (value.strip(), label.strip()) if sep else ("", line)
            if sep and not label:
                label = value
            if not value:
                value = key_from_label(label, values, default="choix")
            values.add(value)
            found.append({"value": value, "label": label})
        return found

    def clean(self):
        cleaned = super().clean()
        self.built_spec = self._build_spec()
        return cleaned

    def spec(self) -> dict[str, Any]:
        """The field as the schema stores it (after `is_valid()`)."""
        return self.built_spec

    def _build_spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = self.field_type
        spec: dict[str, Any] = {"key": (data.get("key") or "").strip(), "type": kind,
                                "label": (data.get("label") or "").strip()}
        if kind != "comment":
            spec["required"] = bool(data.get("required"))
            if data.get("help"):
                spec["help"] = data["help"].strip()
        if data.get("condition"):
            spec["condition"] = data["condition"].strip()
        if data.get("prefill"):
            spec["prefill"] = data["prefill"]
        options: dict[str, Any] = {}
        if kind in ("text", "textarea") and data.get("max_length"):
            options["max_length"] = data["max_length"]
        elif kind == "number":
            for name, option in (("minimum", "min"), ("maximum", "max")):
                value = self._number(name)
                if value is not None:
                    options[option] = value
            if data.get("decimals") is not None:
                options["decimals"] = data["decimals"]
        elif kind == "date":
            for name, option in (("date_min", "min"), ("date_max", "max")):
                if (data.get(name) or "").strip():
                    options[option] = data[name].strip()
        elif kind in ("choice", "multichoice"):
            options["choices"] = self._choices()
        elif kind == "phone" and data.get("region"):
            options["region"] = data["region"].strip().upper()
        elif kind == "address":
            options["country"] = data.get("country") or "FR"
        elif kind == "file":
            if data.get("allowed"):
                options["allowed"] = list(data["allowed"])
            else:
                options["allowed"] = []
            max_mb = self._number("max_mb")
            if max_mb is not None:
                options["max_mb"] = max_mb
        elif kind == "block":
            options["min"] = data.get("block_min") or 0
            options["max"] = data.get("block_max") or 20
        if options:
            spec["options"] = options
        return spec

    def option_input(self) -> str | None:
        name = OPTION_INPUT.get(self.field_type)
        return name if name in self.fields else None


class AddFieldForm(forms.Form):
    """GET form: which type of field to add."""

    type = forms.ChoiceField(label=_("Type du nouveau champ"))

    def __init__(self, *args, in_block: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [
            (key, field_type.label) for key, field_type in FIELD_TYPES.items()
            if not (in_block and key in ("block", "file"))]
