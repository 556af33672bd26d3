"""The field types a procedure form may contain: how each is typed in, checked, stored, shown.

Every type turns a field spec of the schema (`{"key", "type", "label", "options", …}`) into a
Django form field whose `clean()` returns a JSON-ready value (digits only for a SIRET, compact
upper case for an IBAN, E.164 for a phone, ISO text for a date, text for a decimal number), and
shows a stored value the French way on receipts (`31/12/2026`, `FR76 3000 …`, `06 12 34 56 78`).
Identifiers are checked with `python-stdnum` and phone numbers with `phonenumbers`
(docs/decisions/0300-python-stdnum-and-phonenumbers.md).
"""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import iban as stdnum_iban
from stdnum.ch import uid as stdnum_uid
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from mairie.core.files.detection import ContentSniffer, format_size, french_list, type_label
from mairie.core.files.purposes import FORBIDDEN_TYPES, registered_purposes

FILE_PURPOSE = "dossier-file"
DEFAULT_FILE_TYPES = ("application/pdf", "image/jpeg", "image/png")
DEFAULT_FILE_MAX_MB = 10
PREFILL_SOURCES = ("user.first_name", "user.last_name", "user.email", "user.phone")


def _options(spec: Mapping) -> dict:
    options = spec.get("options") or {}
    return options if isinstance(options, dict) else {}


def _base_kwargs(spec: Mapping) -> dict:
    return {"label": spec.get("label") or spec.get("key", ""),
            "help_text": spec.get("help") or "",
            "required": bool(spec.get("required"))}


def _french_date(value: datetime.date) -> str:
    return value.strftime("%d/%m/%Y")


def _french_number(value: decimal.Decimal) -> str:
    """1234567.5 → "1 234 567,5" (non-breaking spaces, as French typography wants)."""
    sign = "-" if value < 0 else ""
    text = format(abs(value), "f")
    whole, _dot, fraction = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    result = sign + "\u00a0".join(groups)
    return f"{result},{fraction}" if fraction else result


class FieldType:
    """One kind of field. Subclasses say how it is typed in (`form_field`) and shown."""

    key = ""
    label: str | Promise = ""
    has_input = True

    def form_field(self, spec: Mapping) -> forms.Field:
        raise NotImplementedError

    def display(self, value: Any, spec: Mapping | None = None) -> str:
        if value is None or value == "":
            return ""
        return str(value)

    def check_options(self, options: dict) -> list[str]:
        """French messages about this type's options (used when a schema is saved)."""
        return []


# Text ----------------------------------------------------------------------------------------

class TextType(FieldType):
    key, label = "text", gettext_lazy("Texte court")
    max_length = 255
    widget: type[forms.Widget] = forms.TextInput

    def form_field(self, spec):
        max_length = _options(spec).get("max_length") or self.max_length
        return forms.CharField(widget=self.widget, max_length=max_length, **_base_kwargs(spec))


class TextareaType(TextType):
    key, label = "textarea", gettext_lazy("Texte long")
    max_length = 10_000
    widget = forms.Textarea


class EmailField(forms.EmailField):
    def clean(self, value):
        # Domains are case-insensitive; the local part, in theory, is not.
        email = super().clean(value)
        local, at, domain = (email or "").rpartition("@")
        return f"{local}{at}{domain.lower()}" if at else (email or None)


class EmailType(FieldType):
    key, label = "email", gettext_lazy("Adresse électronique")

    def form_field(self, spec):
        return EmailField(
            error_messages={"invalid": _("Saisissez une adresse électronique valide, "
                                         "par exemple nom@exemple.fr.")},
            **_base_kwargs(spec))


# Numbers and dates ---------------------------------------------------------------------------

def _plain(number: decimal.Decimal) -> str:
    """Exact text without exponent or trailing zeros: 12.50 → "12.5", 1E+3 → "1000"."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class NumberField(forms.CharField):
    """A decimal number typed the French way ("12,5", "1 200") or the English way."""

    widget = forms.TextInput

    def __init__(self, *, minimum=None, maximum=None, decimals=None, **kwargs):
        self.minimum = None if minimum is None else decimal.Decimal(str(minimum))
        self.maximum = None if maximum is None else decimal.Decimal(str(maximum))
        self.decimals = decimals
        super().__init__(**kwargs)
        self.widget.attrs["inputmode"] = "numeric" if decimals == 0 else "decimal"

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        compact = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
        if len(compact) > 40 or not re.fullmatch(r"[-+]?\d+(\.\d+)?", compact):
            raise ValidationError(_("Saisissez un nombre, par exemple 12 ou 12,5."),
                                  code="invalid")
        return decimal.Decimal(compact)

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if self.decimals is not None:
            _whole, _dot, fraction = _plain(value).partition(".")
            if len(fraction) > self.decimals:
                if self.decimals == 0:
                    raise ValidationError(_("Saisissez un nombre entier."), code="decimals")
                raise ValidationError(
                    _("Saisissez au plus %(count)s chiffre(s) après la virgule.")
                    % {"count": self.decimals}, code="decimals")
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(_("Saisissez un nombre supérieur ou égal à %(min)s.")
                                  % {"min": _french_number(self.minimum)}, code="min_value")
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(_("Saisissez un nombre inférieur ou égal à %(max)s.")
                                  % {"max": _french_number(self.maximum)}, code="max_value")

    def clean(self, value):
        number = super().clean(value)
        if number is None:
            return None
        # JSON has no decimal type: the stored answer is the exact text ("12.5", "1200").
        return _plain(number)


class NumberType(FieldType):
    key, label = "number", gettext_lazy("Nombre")

    def form_field(self, spec):
        options = _options(spec)
        return NumberField(minimum=options.get("min"), maximum=options.get("max"),
                           decimals=options.get("decimals"), **_base_kwargs(spec))

    def display(self, value, spec=None):
        if value is None or value == "":
            return ""
        try:
            return _french_number(decimal.Decimal(str(value)))
        except decimal.InvalidOperation:
            return str(value)

    def check_options(self, options):
        errors = []
        for name in ("min", "max"):
            if options.get(name) is not None:
                try:
                    decimal.Decimal(str(options[name]))
                except decimal.InvalidOperation:
                    errors.append(_("L'option « %(name)s » doit être un nombre.") % {"name": name})
        decimals = options.get("decimals")
        if decimals is not None and (not isinstance(decimals, int) or isinstance(decimals, bool)
                                     or not 0 <= decimals <= 6):
            errors.append(_("L'option « decimals » doit être un entier entre 0 et 6."))
        if not errors and options.get("min") is not None and options.get("max") is not None \
                and decimal.Decimal(str(options["min"])) > decimal.Decimal(str(options["max"])):
            errors.append(_("Le minimum est plus grand que le maximum."))
        return errors


def resolve_date(value: Any) -> datetime.date | None:
    """An option bound: ISO text, or "today" (the day the form is filled in)."""
    if value in (None, ""):
        return None
    if value == "today":
        return timezone.localdate()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateField(forms.DateField):
    """A date from the browser's date picker (ISO) or typed as 31/12/2026; stored as ISO."""

    widget = DateInput
    input_formats = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y"]

    def __init__(self, *, minimum=None, maximum=None, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        kwargs.setdefault("error_messages", {
            "invalid": _("Saisissez une date valide, par exemple 31/12/2026.")})
        super().__init__(**kwargs)
        low, high = resolve_date(minimum), resolve_date(maximum)
        if low:
            self.widget.attrs["min"] = low.isoformat()
        if high:
            self.widget.attrs["max"] = high.isoformat()

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        low, high = resolve_date(self.minimum), resolve_date(self.maximum)
        if low and value < low:
            raise ValidationError(_("La date doit être le %(date)s ou après.")
                                  % {"date": _french_date(low)}, code="min_value")
        if high and value > high:
            raise ValidationError(_("La date doit être le %(date)s ou avant.")
                                  % {"date": _french_date(high)}, code="max_value")

    def clean(self, value):
        day = super().clean(value)
        return day.isoformat() if day else None


class DateType(FieldType):
    key, label = "date", gettext_lazy("Date")

    def form_field(self, spec):
        options = _options(spec)
        return DateField(minimum=options.get("min"), maximum=options.get("max"),
                         **_base_kwargs(spec))

    def display(self, value, spec=None):
        if not value:
            return ""
        try:
            return _french_date(datetime.date.fromisoformat(str(value)))
        except ValueError:
            return str(value)

    def check_options(self, options):
        errors = []
        for name in ("min", "max"):
            try:
                resolve_date(options.get(name))
            except ValueError:
                errors.append(_("L'option « %(name)s » doit être une date AAAA-MM-JJ ou "
                                "« today ».") % {"name": name})
        return errors


# Choices -------------------------------------------------------------------------------------

def _choices(spec: dict) -> list[tuple[str, str]]:
    return [(str(choice.get("value")), str(choice.get("label") or choice.get("value")))
            for choice in _options(spec).get("choices") or [] if isinstance(choice, dict)]


def _check_choices(options: dict) -> list[str]:
    choices = options.get("choices")
    if not isinstance(choices, list) or not choices:
        return [_("Indiquez au moins un choix.")]
    values = [c.get("value") for c in choices if isinstance(c, dict)]
    if len(values) != len(choices) or any(v in (None, "") for v in values):
        return [_("Chaque choix doit avoir une valeur et un libellé.")]
    if len(set(map(str, values))) != len(values):
        return [_("Deux choix ont la même valeur.")]
    return []


class ChoiceType(FieldType):
    key, label = "choice", gettext_lazy("Choix unique")

    def form_field(self, spec):
        return forms.ChoiceField(
            choices=_choices(spec), widget=forms.RadioSelect,
            error_messages={"invalid_choice": _("Choisissez une des réponses proposées.")},
            **_base_kwargs(spec))

    def display(self, value, spec=None):
        if value in (None, ""):
            return ""
        return dict(_choices(spec or {})).get(str(value), str(value))

    def check_options(self, options):
        return _check_choices(options)


class MultiChoiceType(FieldType):
    key, label = "multichoice", gettext_lazy("Choix multiple")

    def form_field(self, spec):
        return forms.MultipleChoiceField(
            choices=_choices(spec), widget=forms.CheckboxSelectMultiple,
            error_messages={"invalid_choice": _("Choisissez parmi les réponses proposées.")},
            **_base_kwargs(spec))

    def display(self, value, spec=None):
        if not value:
            return ""
        labels = dict(_choices(spec or {}))
        return ", ".join(labels.get(str(v), str(v)) for v in value)

    def check_options(self, options):
        return _check_choices(options)


class YesNoField(forms.TypedChoiceField):
    widget = forms.RadioSelect

    def __init__(self, **kwargs):
        super().__init__(choices=[("oui", _("Oui")), ("non", _("Non"))],
                         coerce=lambda value: value == "oui", empty_value=None, **kwargs)

    def prepare_value(self, value):
        if value is True:
            return "oui"
        if value is False:
            return "non"
        return value


class YesNoType(FieldType):
    key, label = "yesno", gettext_lazy("Oui / non")

    def form_field(self, spec):
        return YesNoField(error_messages={"required": _("Répondez par oui ou par non.")},
                          **_base_kwargs(spec))

    def display(self, value, spec=None):
        if value is None:
            return ""
        return _("Oui") if value else _("Non")


# Identifiers and phone -----------------------------------------------------------------------

class IdentifierField(forms.CharField):
    """Text checked by a `python-stdnum` module; the stored value is its compact form."""

    def __init__(self, *, module, message: str, **kwargs):
        self.module, self.message = module, message
        super().__init__(max_length=64, **kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        try:
            return self.module.validate(text)
        except StdnumError:
            raise ValidationError(self.message, code="invalid") from None


class IdentifierType(FieldType):
    module: Any = None
    message: str | Promise = ""

    def form_field(self, spec):
        field = IdentifierField(module=self.module, message=str(self.message),
                                **_base_kwargs(spec))
        field.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        return field

    def display(self, value, spec=None):
        if not value:
            return ""
        try:
            return self.module.format(value)
        except (StdnumError, ValueError, TypeError):
            return str(value)


class SiretType(IdentifierType):
    key, label = "siret", gettext_lazy("Numéro SIRET")
    module = stdnum_siret
    message = gettext_lazy("Ce numéro SIRET n'est pas valide (14 chiffres, clé de contrôle).")


class SirenType(IdentifierType):
    key, label = "siren", gettext_lazy("Numéro SIREN")
    module = stdnum_siren
    message = gettext_lazy("Ce numéro SIREN n'est pas valide (9 chiffres, clé de contrôle).")


class IbanType(IdentifierType):
    key, label = "iban", gettext_lazy("IBAN")
    module = stdnum_iban
    message = gettext_lazy("Cet IBAN n'est pas valide : vérifiez-le sur votre relevé "
                           "d'identité bancaire (par exemple FR76 3000 6000 0112 3456 7890 189).")


class IdeType(IdentifierType):
    key, label = "ide", gettext_lazy("Numéro IDE (Suisse)")
    module = stdnum_uid
    message = gettext_lazy("Ce numéro IDE n'est pas valide (CHE suivi de 9 chiffres, par "
                           "exemple CHE-116.281.710).")


class PhoneField(forms.CharField):
    def __init__(self, *, region: str = "FR", **kwargs):
        self.region = region
        super().__init__(**kwargs)
        self.widget.input_type = "tel"
        self.widget.attrs["autocomplete"] = "tel"

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        message = _("Ce numéro de téléphone n'est pas valide (par exemple 06 12 34 56 78, ou "
                    "+41 21 123 45 67 pour l'étranger).")
        try:
            number = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            raise ValidationError(message, code="invalid") from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(message, code="invalid")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneType(FieldType):
    key, label = "phone", gettext_lazy("Téléphone")

    def form_field(self, spec):
        return PhoneField(region=_options(spec).get("region") or "FR", **_base_kwargs(spec))

    def display(self, value, spec=None):
        """National format for numbers of the field's region, international otherwise."""
        if not value:
            return ""
        region = _options(spec or {}).get("region") or "FR"
        try:
            number = phonenumbers.parse(str(value), region)
        except phonenumbers.NumberParseException:
            return str(value)
        if phonenumbers.region_code_for_number(number) == region:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def check_options(self, options):
        region = options.get("region")
        if region and region not in phonenumbers.SUPPORTED_REGIONS:
            return [_("La région « %(region)s » est inconnue (code pays à deux lettres, "
                      "par exemple FR ou CH).") % {"region": region}]
        return []


# Address -------------------------------------------------------------------------------------

POSTCODE_PATTERNS = {"FR": r"\d{5}", "CH": r"\d{4}", "BE": r"\d{4}", "LU": r"(L-)?\d{4}"}


class AddressType(FieldType):
    """Three inputs (street, postcode, city), each with its own visible label; stored as a
    dict. `subfields` is what page forms use; `form_field` combines them for other forms."""

    key, label = "address", gettext_lazy("Adresse postale")
    parts = ("street", "postcode", "city")

    def subfields(self, spec: Mapping) -> dict[str, forms.Field]:
        label = spec.get("label") or spec.get("key", "")
        required = bool(spec.get("required"))
        country = _options(spec).get("country", "FR")
        pattern = POSTCODE_PATTERNS.get(country, r"[A-Za-z0-9 -]{2,10}")
        return {
            "street": forms.CharField(label=_("%(label)s : numéro et voie") % {"label": label},
                                      max_length=255, required=required,
                                      help_text=spec.get("help") or "",
                                      widget=forms.TextInput(
                                          attrs={"autocomplete": "street-address"})),
            "postcode": forms.RegexField(
                regex=rf"^{pattern}$", label=_("%(label)s : code postal") % {"label": label},
                max_length=10, required=required,
                error_messages={"invalid": _("Ce code postal n'est pas valide.")},
                widget=forms.TextInput(attrs={"autocomplete": "postal-code",
                                              "inputmode": "numeric"})),
            "city": forms.CharField(label=_("%(label)s : commune") % {"label": label},
                                    max_length=120, required=required,
                                    widget=forms.TextInput(
                                        attrs={"autocomplete": "address-level2"})),
        }

    def combine(self, values: dict[str, Any]) -> dict | None:
        cleaned = {part: (values.get(part) or "").strip() for part in self.parts}
        return cleaned if any(cleaned.values()) else None

    def form_field(self, spec):
        return AddressField(self, spec)

    def display(self, value, spec=None):
        if not isinstance(value, dict):
            return "" if value is None else str(value)
        town = " ".join(p for p in (value.get("postcode"), value.get("city")) if p)
        return ", ".join(p for p in (value.get("street"), town) if p)


class AddressField(forms.MultiValueField):
    def __init__(self, fieldtype: AddressType, spec: dict):
        self.fieldtype = fieldtype
        fields = fieldtype.subfields(spec)
        super().__init__(fields=list(fields.values()), require_all_fields=False,
                         widget=forms.MultiWidget([f.widget for f in fields.values()]),
                         **_base_kwargs(spec))

    def compress(self, data_list):
        return self.fieldtype.combine(dict(zip(self.fieldtype.parts, data_list or [],
                                               strict=False)))


# Files ---------------------------------------------------------------------------------------

def file_constraints(spec: dict) -> tuple[frozenset[str], int]:
    """Allowed MIME types and size limit of a file field, within the instance's limits."""
    options = _options(spec)
    allowed = frozenset(options.get("allowed") or DEFAULT_FILE_TYPES) - FORBIDDEN_TYPES
    limit = int(decimal.Decimal(str(options.get("max_mb") or DEFAULT_FILE_MAX_MB)) * 1024 * 1024)
    # The app's purpose (registered at startup) caps what any field may accept.
    purpose = registered_purposes().get(FILE_PURPOSE)
    if purpose is not None:
        allowed &= purpose.allowed
        limit = min(limit, purpose.max_bytes)
    return allowed, min(limit, settings.MAIRIE_UPLOAD_MAX_BYTES)


class DossierFileField(forms.FileField):
    """An upload checked by its content (never its name) against the field's types and size.

    Storing it (antivirus included) is the caller's job, with
    `mairie.core.files.forms.save_upload(form, name, purpose="dossier-file", …)`.
    """

    def __init__(self, *, allowed: frozenset[str], max_bytes: int, **kwargs):
        self.allowed, self.max_bytes = allowed, max_bytes
        labels = french_list(sorted({type_label(t) for t in allowed}))
        if not kwargs.get("help_text"):
            kwargs["help_text"] = _("Formats acceptés : %(types)s. Taille maximale : %(size)s.") \
                % {"types": labels, "size": format_size(max_bytes)}
        super().__init__(**kwargs)
        self.widget.attrs["accept"] = ",".join(sorted(allowed))

    def clean(self, data, initial=None):
        uploaded = super().clean(data, initial)
        if uploaded and uploaded is not initial and hasattr(uploaded, "chunks"):
            self.inspect(uploaded)
        return uploaded

    def inspect(self, uploaded) -> str:
        too_big = ValidationError(_("Le fichier dépasse %(limit)s.")
                                  % {"limit": format_size(self.max_bytes)}, code="file_too_big")
        if (getattr(uploaded, "size", None) or 0) > self.max_bytes:
            raise too_big
        sniffer, size = ContentSniffer(), 0
        uploaded.seek(0)
        for chunk in uploaded.chunks(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise too_big
            sniffer.feed(chunk)
        uploaded.seek(0)
        if size == 0:
            raise ValidationError(_("Le fichier est vide."), code="file_empty")
        content_type = sniffer.content_type()
        if content_type not in self.allowed:
            raise ValidationError(
                _("Le fichier est de type %(found)s ; formats acceptés : %(allowed)s.")
                % {"found": type_label(content_type),
                   "allowed": french_list(sorted({type_label(t) for t in self.allowed}))},
                code="file_type")
        return content_type


class FileType(FieldType):
    key, label = "file", gettext_lazy("Fichier")

    def form_field(self, spec):
        allowed, limit = file_constraints(spec)
        return DossierFileField(allowed=allowed, max_bytes=limit, **_base_kwargs(spec))

    def display(self, value, spec=None):
        """The caller passes file names (`answers_summary` looks them up); ids otherwise."""
        if not value:
            return ""
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    def check_options(self, options):
        errors = []
        allowed = options.get("allowed")
        if allowed is not None:
            if not isinstance(allowed, list) or not allowed:
                errors.append(_("Indiquez au moins un type de fichier accepté."))
            else:
                refused = sorted(set(allowed) & FORBIDDEN_TYPES)
                if refused:
                    errors.append(_("Ces types de fichier sont refusés pour la sécurité : "
                                    "%(types)s.") % {"types": ", ".join(refused)})
        max_mb = options.get("max_mb")
        if max_mb is not None:
            try:
                size = decimal.Decimal(str(max_mb))
            except decimal.InvalidOperation:
                size = decimal.Decimal(0)
            limit = decimal.Decimal(settings.MAIRIE_UPLOAD_MAX_BYTES) / (1024 * 1024)
            if size <= 0 or size > limit:
                errors.append(_("La taille maximale doit être comprise entre 0 et %(limit)s Mo.")
                              % {"limit": _french_number(limit.normalize())})
        return errors


# Structure -----------------------------------------------------------------------------------

class BlockType(FieldType):
    """A repeatable group of sub-fields; `schema.build_page_form` lays out its items."""

    key, label = "block", gettext_lazy("Bloc répétable")

    def form_field(self, spec):
        raise TypeError("A block has no single form field; see schema.build_page_form.")

    def display(self, value, spec=None):
        if not value:
            return ""
        sub_specs = (spec or {}).get("fields") or []
        items = []
        for item in value:
            parts = []
            for sub in sub_specs:
                shown = get_field_type(sub.get("type", "")).display(item.get(sub.get("key")),
                                                                     sub) if item else ""
                if shown:
                    parts.append(f"{sub.get('label')} : {shown}")
            items.append(" ; ".join(parts))
        return "\n".join(items)

    def check_options(self, options):
        errors = []
        low, high = options.get("min", 0), options.get("max", 20)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) \
                or low < 0 or high < 1 or low > high or high > 100:
            errors.append(_("Le nombre de répétitions doit aller d'un minimum (0 ou plus) à un "
                            "maximum (100 au plus)."))
        return errors


class CommentType(FieldType):
    """Explanatory text shown in the form; its `label` is the text. Nothing is typed in."""

    key, label = "comment", gettext_lazy("Texte explicatif")
    has_input = False

    def form_field(self, spec):
        raise TypeError("A comment has no form field.")

    def display(self, value, spec=None):
        return ""


FIELD_TYPES: dict[str, FieldType] = {
    field_type.key: field_type
    for field_type in (TextType(), TextareaType(), NumberType(), DateType(), ChoiceType(),
                       MultiChoiceType(), YesNoType(), EmailType(), PhoneType(), AddressType(),
                       IbanType(), SiretType(), SirenType(), IdeType(), FileType(), BlockType(),
                       CommentType())
}


def get_field_type(key: str) -> FieldType:
    try:
        return FIELD_TYPES[key]
    except KeyError:
        raise KeyError(f"Unknown field type {key!r}") from None


def prefill_value(source: str, user) -> Any:
    """The account value a field is prefilled with (`user.email`, …), or None."""
    if source not in PREFILL_SOURCES or user is None or not getattr(user, "is_authenticated",
                                                                     False):
        return None
    return getattr(user, source.split(".", 1)[1], None) or None
