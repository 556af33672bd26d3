"""Field types: what a resident may type, the French message when it is wrong, what is stored
and how it reads on a receipt."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from mairie.core.files.purposes import unregister_purpose
from mairie.core.files.testing import exe_bytes, pdf_bytes, png_bytes, upload
from mairie.procedures.fieldtypes import (
    FIELD_TYPES,
    FILE_PURPOSE,
    file_constraints,
    get_field_type,
    prefill_value,
)


def spec(type_, **extra):
    return {"key": "champ", "type": type_, "label": "Champ", "required": True, **extra}


def clean(type_, value, **extra):
    return get_field_type(type_).form_field(spec(type_, **extra)).clean(value)


def error_of(type_, value, **extra):
    with pytest.raises(ValidationError) as caught:
        clean(type_, value, **extra)
    return " ".join(caught.value.messages)


def show(type_, value, **extra):
    return get_field_type(type_).display(value, spec(type_, **extra))


# Identifiers -------------------------------------------------------------------------------

@pytest.mark.parametrize(("type_", "typed", "stored", "shown"), [
    ("siret", "732 829 320 00074", "73282932000074", "732 829 320 00074"),
    ("siret", "73282932000074", "73282932000074", "732 829 320 00074"),
    ("siren", "732829320", "732829320", "732 829 320"),
    ("siren", "732 829 320", "732829320", "732 829 320"),
    ("iban", "fr76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189",
     "FR76 3000 6000 0112 3456 7890 189"),
    ("iban", "CH93 0076 2011 6238 5295 7", "CH9300762011623852957", "CH93 0076 2011 6238 5295 7"),
    ("ide", "CHE-116.281.710", "CHE116281710", "CHE-116.281.710"),
    ("ide", "che116281710", "CHE116281710", "CHE-116.281.710"),
])
def test_valid_identifiers_are_stored_compact_and_shown_grouped(type_, typed, stored, shown):
    assert clean(type_, typed) == stored
    assert show(type_, stored) == shown


@pytest.mark.parametrize(("type_", "typed", "message"), [
    ("siret", "73282932000075",
     "Ce numéro SIRET n'est pas valide (14 chiffres, clé de contrôle)."),
    ("siret", "7328293200007", "Ce numéro SIRET n'est pas valide"),
    ("siret", "ABCDEFGHIJKLMN", "Ce numéro SIRET n'est pas valide"),
    ("siren", "732829321", "Ce numéro SIREN n'est pas valide (9 chiffres, clé de contrôle)."),
    ("iban", "FR7630006000011234567890188", "Cet IBAN n'est pas valide"),
    ("iban", "FR76 3000", "Cet IBAN n'est pas valide"),
    ("ide", "CHE-116.281.711", "Ce numéro IDE n'est pas valide"),
])
def test_wrong_identifiers_get_a_french_message(type_, typed, message):
    assert message in error_of(type_, typed)


def test_required_identifier_left_empty():
    assert "Ce champ est obligatoire." in error_of("siret", "")
    optional = get_field_type("siret").form_field(spec("siret", required=False))
    assert optional.clean("") is None


# Phone -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "stored", "shown"), [
    ("06 12 34 56 78", "+33612345678", "06 12 34 56 78"),
    ("0612345678", "+33612345678", "06 12 34 56 78"),
    ("+33 1 23 45 67 89", "+33123456789", "01 23 45 67 89"),
    ("+41 44 668 18 00", "+41446681800", "+41 44 668 18 00"),
    ("+32 2 511 11 11", "+3225111111", "+32 2 511 11 11"),
])
def test_phone_numbers_stored_e164_shown_national_at_home(typed, stored, shown):
    assert clean("phone", typed) == stored
    assert show("phone", stored) == shown


def test_phone_region_option_reads_local_numbers_of_that_country():
    assert clean("phone", "044 668 18 00", options={"region": "CH"}) == "+41446681800"
    assert show("phone", "+41446681800", options={"region": "CH"}) == "044 668 18 00"
    assert show("phone", "+33612345678", options={"region": "CH"}) == "+33 6 12 34 56 78"


@pytest.mark.parametrize("typed", ["06 12", "abc", "+33 6 12 34 56 78 90 12", "00000000000"])
def test_wrong_phone_numbers_are_refused(typed):
    assert "Ce numéro de téléphone n'est pas valide" in error_of("phone", typed)


def test_phone_input_is_a_tel_input():
    html = get_field_type("phone").form_field(spec("phone")).widget.render("tel", "")
    assert 'type="tel"' in html and 'autocomplete="tel"' in html


# Numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "stored"), [
    ("12", "12"), ("12,5", "12.5"), ("12.50", "12.5"), ("1 200", "1200"),
    ("1\u00a0200,75", "1200.75"), ("-3", "-3"), ("0", "0"), ("100", "100"),
    ("-0,0", "0"), ("12345678901234567890123456789012,5", "12345678901234567890123456789012.5"),
])
def test_numbers_typed_the_french_way_are_stored_as_exact_text(typed, stored):
    assert clean("number", typed) == stored


@pytest.mark.parametrize(("typed", "options", "message"), [
    ("abc", {}, "Saisissez un nombre, par exemple 12 ou 12,5."),
    ("12,5,3", {}, "Saisissez un nombre"),
    ("101", {"min": 0, "max": 100}, "Saisissez un nombre inférieur ou égal à 100."),
    ("-1", {"min": 0, "max": 100}, "Saisissez un nombre supérieur ou égal à 0."),
    ("1,5", {"decimals": 0}, "Saisissez un nombre entier."),
    ("1,555", {"decimals": 2}, "Saisissez au plus 2 chiffre(s) après la virgule."),
    ("20000", {"max": 10000.5}, "inférieur ou égal à 10\u00a0000,5."),
])
def test_numbers_out_of_bounds_are_refused(typed, options, message):
    assert message in error_of("number", typed, options=options)


@pytest.mark.parametrize(("stored", "shown"), [
    ("1200.5", "1\u00a0200,5"), ("12", "12"), ("-1234567", "-1\u00a0234\u00a0567"),
    ("0.25", "0,25"), (75, "75"),
])
def test_numbers_are_shown_french_style(stored, shown):
    assert show("number", stored) == shown


# Dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["2026-12-31", "31/12/2026", "31.12.2026"])
def test_dates_are_stored_iso_and_shown_french(typed):
    assert clean("date", typed) == "2026-12-31"
    assert show("date", "2026-12-31") == "31/12/2026"


def test_dates_bounded_by_today():
    today = timezone.localdate()
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    assert clean("date", tomorrow, options={"min": "today"}) == tomorrow
    assert clean("date", today.isoformat(), options={"min": "today"}) == today.isoformat()
    message = error_of("date", yesterday, options={"min": "today"})
    assert message == f"La date doit être le {today:%d/%m/%Y} ou après."
    message = error_of("date", tomorrow, options={"max": "today"})
    assert message == f"La date doit être le {today:%d/%m/%Y} ou avant."


def test_dates_bounded_by_fixed_dates_and_shown_in_the_picker():
    options = {"min": "2026-01-01", "max": "2026-06-30"}
    assert "La date doit être le 01/01/2026 ou après." in error_of("date", "2025-12-31",
                                                                    options=options)
    assert "La date doit être le 30/06/2026 ou avant." in error_of("date", "2026-07-01",
                                                                    options=options)
    html = get_field_type("date").form_field(spec("date", options=options)).widget.render(
        "d", "2026-03-01")
    assert 'type="date"' in html and 'min="2026-01-01"' in html and 'max="2026-06-30"' in html


@pytest.mark.parametrize("typed", ["31/02/2026", "demain", "2026-13-01"])
def test_impossible_dates_are_refused(typed):
    assert "Saisissez une date valide, par exemple 31/12/2026." in error_of("date", typed)


# Choices -----------------------------------------------------------------------------------

CHOICES = {"choices": [{"value": "voirie", "label": "Voirie"},
                       {"value": "eclairage", "label": "Éclairage public"}]}


def test_single_choice_rendered_as_radios_and_shown_by_label():
    field = get_field_type("choice").form_field(spec("choice", options=CHOICES))
    assert field.clean("eclairage") == "eclairage"
    assert 'type="radio"' in field.widget.render("c", "")
    assert show("choice", "eclairage", options=CHOICES) == "Éclairage public"
    assert "Choisissez une des réponses proposées." in error_of("choice", "autre",
                                                                 options=CHOICES)


def test_multiple_choice_rendered_as_checkboxes_and_shown_by_labels():
    field = get_field_type("multichoice").form_field(spec("multichoice", options=CHOICES))
    assert field.clean(["voirie", "eclairage"]) == ["voirie", "eclairage"]
    assert 'type="checkbox"' in field.widget.render("c", [])
    assert show("multichoice", ["voirie", "eclairage"], options=CHOICES) == \
        "Voirie, Éclairage public"
    assert "Choisissez parmi les réponses proposées." in error_of(
        "multichoice", ["autre"], options=CHOICES)


def test_yes_no_is_stored_as_a_boolean():
    assert clean("yesno", "oui") is True
    assert clean("yesno", "non") is False
    assert error_of("yesno", "") == "Répondez par oui ou par non."
    optional = get_field_type("yesno").form_field(spec("yesno", required=False))
    assert optional.clean("") is None
    assert (show("yesno", True), show("yesno", False), show("yesno", None)) == ("Oui", "Non", "")


def test_email():
    assert clean("email", " Marie@Exemple.fr ") == "Marie@exemple.fr"
    assert "Saisissez une adresse électronique valide" in error_of("email", "marie@")


def test_text_length_is_bounded():
    assert clean("text", "  Dupont  ") == "Dupont"
    assert "au plus 255 caractères" in error_of("text", "x" * 256)
    assert clean("textarea", "x" * 5000) == "x" * 5000


# Address -----------------------------------------------------------------------------------

def test_address_has_three_labelled_parts_and_a_french_postcode():
    address = get_field_type("address")
    parts = address.subfields(spec("address", label="Adresse du local"))
    assert [f.label for f in parts.values()] == [
        "Adresse du local : numéro et voie", "Adresse du local : code postal",
        "Adresse du local : commune"]
    with pytest.raises(ValidationError) as caught:
        parts["postcode"].clean("1234")
    assert caught.value.messages == ["Ce code postal n'est pas valide."]
    swiss = address.subfields(spec("address", options={"country": "CH"}))
    assert swiss["postcode"].clean("1003") == "1003"


def test_address_field_combines_parts_into_a_dict():
    field = get_field_type("address").form_field(spec("address"))
    value = field.clean(["1 rue Haute", "12345", "Valmont"])
    assert value == {"street": "1 rue Haute", "postcode": "12345", "city": "Valmont"}
    assert show("address", value) == "1 rue Haute, 12345 Valmont"


# Files -------------------------------------------------------------------------------------



def file_field(**options):
    return get_field_type("file").form_field(spec("file", options=options))


def test_file_checked_by_content_not_by_name(dossier_purpose):
    field = file_field(allowed=["application/pdf"], max_mb=1)
    good = upload("attestation.pdf", pdf_bytes(), "application/pdf")
    assert field.clean(good) is good
    with pytest.raises(ValidationError) as caught:
        field.clean(upload("attestation.pdf", exe_bytes(), "application/pdf"))
    assert caught.value.messages == [
        "Le fichier est de type EXE (programme Windows) ; formats acceptés : PDF."]


def test_file_size_limit_of_the_field(dossier_purpose):
    field = file_field(allowed=["image/png"], max_mb=0.001)
    with pytest.raises(ValidationError) as caught:
        field.clean(upload("photo.png", png_bytes(200, 200) + b"\0" * 2000, "image/png"))
    assert caught.value.messages == ["Le fichier dépasse 1 Ko."]


def test_file_field_tells_what_is_expected(dossier_purpose):
    field = file_field(allowed=["image/png", "application/pdf"], max_mb=2)
    assert field.help_text == "Formats acceptés : PDF et PNG. Taille maximale : 2 Mo."
    assert 'accept="application/pdf,image/png"' in field.widget.render("f", None)


def test_file_types_and_size_never_exceed_the_purpose(dossier_purpose):
    allowed, limit = file_constraints(spec("file", options={
        "allowed": ["application/pdf", "image/gif"], "max_mb": 50}))
    assert allowed == {"application/pdf"}
    assert limit == 5 * 1024 * 1024


@override_settings(MAIRIE_UPLOAD_MAX_BYTES=1024 * 1024)
def test_file_checks_work_before_the_purpose_is_registered(dossier_purpose):
    unregister_purpose(FILE_PURPOSE)
    allowed, limit = file_constraints(spec("file"))
    assert allowed == {"application/pdf", "image/jpeg", "image/png"}
    assert limit == 1024 * 1024
    with pytest.raises(ValidationError):
        file_field().clean(upload("vide.pdf", b"", "application/pdf"))


def test_file_shown_by_name_given_by_the_caller():
    assert show("file", "releve.pdf") == "releve.pdf"
    assert show("file", ["a.pdf", "b.pdf"]) == "a.pdf, b.pdf"


# Options and structure ---------------------------------------------------------------------

@pytest.mark.parametrize(("type_", "options", "message"), [
    ("number", {"min": "dix"}, "L'option « min » doit être un nombre."),
    ("number", {"min": 10, "max": 5}, "Le minimum est plus grand que le maximum."),
    ("number", {"decimals": 12}, "L'option « decimals » doit être un entier entre 0 et 6."),
    ("date", {"min": "hier"}, "L'option « min » doit être une date AAAA-MM-JJ ou « today »."),
    ("choice", {}, "Indiquez au moins un choix."),
    ("choice", {"choices": [{"value": "a"}, {"value": "a"}]}, "Deux choix ont la même valeur."),
    ("multichoice", {"choices": [{"label": "sans valeur"}]},
     "Chaque choix doit avoir une valeur et un libellé."),
    ("phone", {"region": "ZZ"}, "La région « ZZ » est inconnue"),
    ("file", {"allowed": ["image/svg+xml"]}, "refusés pour la sécurité : image/svg+xml"),
    ("file", {"max_mb": 0}, "La taille maximale doit être comprise entre 0 et"),
    ("block", {"min": 3, "max": 2}, "Le nombre de répétitions doit aller"),
])
def test_bad_options_are_explained(type_, options, message):
    messages = get_field_type(type_).check_options(options)
    assert any(message in m for m in messages), messages


def test_every_type_of_the_design_exists():
    assert set(FIELD_TYPES) == {
        "text", "textarea", "number", "date", "choice", "multichoice", "yesno", "email",
        "phone", "address", "iban", "siret", "siren", "ide", "file", "block", "comment"}
    assert not FIELD_TYPES["comment"].has_input


def test_block_display_lists_each_item():
    block = {"key": "salaries", "type": "block", "label": "Salariés", "fields": [
        {"key": "nom", "type": "text", "label": "Nom"},
        {"key": "entree", "type": "date", "label": "Entrée"}]}
    assert get_field_type("block").display(
        [{"nom": "Dupont", "entree": "2020-02-01"}, {"nom": "Durand"}], block) == \
        "Nom : Dupont ; Entrée : 01/02/2020\nNom : Durand"


@pytest.mark.django_db
def test_prefill_reads_the_signed_in_account():
    from django.contrib.auth.models import AnonymousUser

    from mairie.core.factories import UserFactory

    user = UserFactory(first_name="Marie", email="marie@exemple.fr", phone="")
    assert prefill_value("user.first_name", user) == "Marie"
    assert prefill_value("user.email", user) == "marie@exemple.fr"
    assert prefill_value("user.phone", user) is None
    assert prefill_value("user.password", user) is None
    assert prefill_value("user.email", AnonymousUser()) is None
