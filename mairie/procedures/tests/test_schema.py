"""Form schemas: checked when saved, turned into page forms with conditional fields and
repeatable blocks that work without JavaScript, summarised for receipts."""

import copy
import json

import pytest
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from mairie.core.files.services import store_upload
from mairie.core.files.testing import exe_bytes, pdf_bytes, upload
from mairie.procedures.fieldtypes import FILE_PURPOSE
from mairie.procedures.schema import (
    answers_summary,
    build_page_form,
    iter_fields,
    validate_schema,
    visible_pages,
)

SCHEMA = {"pages": [
    {"key": "entreprise", "title": "Votre entreprise", "condition": "", "fields": [
        {"key": "intro", "type": "comment", "label": "Munissez-vous de votre RIB."},
        {"key": "siret", "type": "siret", "label": "Numéro SIRET", "help": "14 chiffres",
         "required": True, "condition": "", "prefill": "", "options": {}},
        {"key": "perte", "type": "number", "label": "Perte de chiffre d'affaires (%)",
         "required": True, "options": {"min": 0, "max": 100}},
        {"key": "motif", "type": "textarea", "label": "Précisez", "required": True,
         "condition": "perte >= 50"},
        {"key": "iban", "type": "iban", "label": "IBAN", "required": False,
         "condition": "perte >= 50"},
        {"key": "salaries", "type": "block", "label": "Salariés",
         "options": {"min": 0, "max": 3},
         "fields": [{"key": "nom", "type": "text", "label": "Nom", "required": True},
                    {"key": "entree", "type": "date", "label": "Date d'entrée",
                     "required": False}]},
    ]},
    {"key": "local", "title": "Votre local", "condition": "perte >= 50", "fields": [
        {"key": "adresse", "type": "address", "label": "Adresse du local", "required": True},
        {"key": "proprietaire", "type": "yesno", "label": "Êtes-vous propriétaire ?",
         "required": True},
        {"key": "bail", "type": "file", "label": "Bail commercial", "required": True,
         "condition": "not proprietaire", "options": {"allowed": ["application/pdf"],
                                                      "max_mb": 2}},
        {"key": "ouverture", "type": "date", "label": "Date d'ouverture",
         "condition": "adresse.city == 'Valmont'", "required": False},
    ]},
    {"key": "contact", "title": "Contact", "fields": [
        {"key": "courriel", "type": "email", "label": "Courriel", "required": True,
         "prefill": "user.email"},
        {"key": "telephone", "type": "phone", "label": "Téléphone", "required": False},
        {"key": "aides", "type": "multichoice", "label": "Aides déjà reçues", "options": {
            "choices": [{"value": "fsn", "label": "Fonds de solidarité"},
                        {"value": "pge", "label": "Prêt garanti"}]}},
    ]},
]}

SIRET = "73282932000074"


def post(**values):
    data = QueryDict(mutable=True)
    for name, value in values.items():
        name = name.replace("__", "-")
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


def schema_with(mutate):
    schema = copy.deepcopy(SCHEMA)
    mutate(schema)
    return schema


# Saving a schema ---------------------------------------------------------------------------

def test_the_design_example_is_valid():
    assert validate_schema(SCHEMA) == []


def test_iter_fields_walks_pages_in_order():
    keys = [(page["key"], field["key"]) for page, field in iter_fields(SCHEMA)]
    assert keys[:3] == [("entreprise", "intro"), ("entreprise", "siret"),
                        ("entreprise", "perte")]
    assert keys[-1] == ("contact", "aides")


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda s: s["pages"][0]["fields"][1].update(key="Siret"),
     "Page « entreprise », champ « Siret » : la clé « Siret » doit commencer par une lettre "
     "minuscule"),
    (lambda s: s["pages"][0]["fields"][2].update(key="siret"),
     "Page « entreprise », champ « siret » : la clé « siret » est déjà utilisée."),
    (lambda s: s["pages"][1].update(key="entreprise"),
     "la clé « entreprise » est déjà utilisée."),
    (lambda s: s["pages"][0]["fields"][1].update(key="today"),
     "la clé « today » est réservée au langage des conditions."),
    (lambda s: s["pages"][0]["fields"][1].update(type="rib"),
     "le type « rib » n'existe pas. Types possibles : text, textarea"),
    (lambda s: s["pages"][0]["fields"][1].update(label=""), "le libellé est obligatoire."),
    (lambda s: s["pages"][0].update(title=" "),
     "Page « entreprise » : le titre est obligatoire."),
    (lambda s: s["pages"][0]["fields"][3].update(condition="pertes >= 50"),
     "Page « entreprise », champ « motif » : condition « pertes >= 50 » : Le nom « pertes » "
     "est inconnu. Vouliez-vous dire « perte » ?"),
    (lambda s: s["pages"][1].update(condition="perte >="),
     "Page « local » : condition « perte >= » : Syntaxe incorrecte"),
    (lambda s: s["pages"][1]["fields"][3].update(condition="perte.city == 'x'"),
     "« perte » n'est pas une adresse"),
    (lambda s: s["pages"][0]["fields"][3].update(condition="__import__('os').system('ls')"),
     "Seules ces fonctions peuvent être appelées"),
    (lambda s: s["pages"][0]["fields"][2]["options"].update(min=200),
     "champ « perte » : Le minimum est plus grand que le maximum."),
    (lambda s: s["pages"][2]["fields"][0].update(prefill="user.password"),
     "le pré-remplissage « user.password » n'existe pas"),
    (lambda s: s["pages"][0]["fields"][5]["fields"].append(
        {"key": "enfants", "type": "block", "label": "Enfants", "fields": [
            {"key": "prenom", "type": "text", "label": "Prénom"}]}),
     "un bloc répétable ne peut pas contenir un autre bloc."),
    (lambda s: s["pages"][0]["fields"][5]["fields"].append(
        {"key": "contrat", "type": "file", "label": "Contrat"}),
     "un fichier ne peut pas être demandé dans un bloc répétable"),
    (lambda s: s["pages"][0]["fields"][5].update(fields=[]),
     "un bloc répétable doit contenir au moins un champ."),
    (lambda s: s["pages"][0]["fields"][1].update(required="oui"),
     "« obligatoire » doit valoir vrai ou faux."),
    (lambda s: s["pages"][0]["fields"].append("siret"), "un champ est mal formé."),
    (lambda s: s["pages"].clear(), "Le formulaire doit contenir au moins une page."),
])
def test_schema_errors_are_explained_in_french(mutate, message):
    errors = validate_schema(schema_with(mutate))
    assert any(message in error for error in errors), errors


def test_a_block_sub_field_condition_may_read_its_siblings_and_the_form():
    def mutate(schema):
        schema["pages"][0]["fields"][5]["fields"][1]["condition"] = "nom != '' and perte > 10"
    assert validate_schema(schema_with(mutate)) == []


def test_not_a_schema():
    assert validate_schema([]) == ["Le formulaire doit contenir une liste de pages."]
    assert validate_schema({"pages": "x"}) == ["Le formulaire doit contenir une liste de pages."]


# Pages and conditions ----------------------------------------------------------------------

def test_pages_follow_their_conditions():
    assert [p["key"] for p in visible_pages(SCHEMA, {"perte": "60"})] == [
        "entreprise", "local", "contact"]
    assert [p["key"] for p in visible_pages(SCHEMA, {"perte": "20"})] == [
        "entreprise", "contact"]
    assert [p["key"] for p in visible_pages(SCHEMA, {})] == ["entreprise", "contact"]


def test_a_hidden_field_hides_what_depends_on_it():
    schema = schema_with(lambda s: s["pages"][2].update(condition="motif != None"))
    # motif is only shown when perte >= 50: with a low loss its stale answer does not count.
    assert [p["key"] for p in visible_pages(schema, {"perte": "20", "motif": "x"})] == [
        "entreprise"]


# Page forms --------------------------------------------------------------------------------

def test_page_form_has_the_page_fields_in_order_with_their_layout():
    form = build_page_form(SCHEMA, "entreprise", answers={})
    assert list(form.fields) == ["siret", "perte", "motif", "iban", "salaries-count"]
    kinds = [(entry["kind"], entry["key"]) for entry in form.layout]
    assert kinds[0] == ("comment", "intro")
    assert form.layout[0]["text"] == "Munissez-vous de votre RIB."
    assert kinds[-1] == ("block", "salaries")
    assert form.fields["motif"].widget.attrs["data-condition"] == "perte >= 50"
    assert form.fields["siret"].help_text == "14 chiffres"


def test_page_form_shows_saved_answers_and_prefills_from_the_account(resident):
    form = build_page_form(SCHEMA, "contact", answers={"telephone": "+33612345678"},
                           user=resident)
    assert form["courriel"].value() == "habitant@example.org"
    assert form["telephone"].value() == "+33612345678"
    saved = build_page_form(SCHEMA, "contact", answers={"courriel": "autre@example.org"},
                            user=resident)
    assert saved["courriel"].value() == "autre@example.org"


def test_conditional_field_is_not_required_when_hidden():
    form = build_page_form(SCHEMA, "entreprise", answers={},
                           data=post(siret=SIRET, perte="20", motif="", iban=""))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["motif"] is None
    assert form.cleaned_data["perte"] == "20"


def test_conditional_field_is_required_when_the_posted_answer_shows_it():
    form = build_page_form(SCHEMA, "entreprise", answers={},
                           data=post(siret=SIRET, perte="60", motif="", iban=""))
    assert not form.is_valid()
    assert form.errors["motif"] == ["Ce champ est obligatoire."]


def test_condition_on_an_answer_of_an_earlier_page():
    answers = {"perte": "60", "adresse": {"street": "1 rue Haute", "postcode": "12345",
                                          "city": "Valmont"}}
    data = post(adresse__street="1 rue Haute", adresse__postcode="12345",
                adresse__city="Ailleurs", proprietaire="oui", ouverture="bientôt")
    form = build_page_form(SCHEMA, "local", answers=answers, data=data)
    # The posted city, not the saved one, decides: the opening date is hidden, its bad
    # input is dropped rather than blocking the page.
    assert form.is_valid(), form.errors
    assert form.cleaned_data["ouverture"] is None
    assert form.cleaned_data["bail"] is None          # hidden: the applicant owns the place
    assert form.cleaned_data["adresse"] == {"street": "1 rue Haute", "postcode": "12345",
                                            "city": "Ailleurs"}
    assert form.cleaned_data["proprietaire"] is True


def test_invalid_answers_are_explained_and_valid_ones_kept():
    form = build_page_form(SCHEMA, "entreprise", answers={},
                           data=post(siret="73282932000075", perte="60", motif="Incendie",
                                     iban="FR76 3000"))
    assert not form.is_valid()
    assert form.errors["siret"] == [
        "Ce numéro SIRET n'est pas valide (14 chiffres, clé de contrôle)."]
    assert "Cet IBAN n'est pas valide" in form.errors["iban"][0]
    # What is valid is in cleaned_data for the draft; the typed input stays in the form.
    assert form.cleaned_data["motif"] == "Incendie"
    assert "siret" not in form.cleaned_data
    assert form["siret"].value() == "73282932000075"


def test_cleaned_data_is_json_ready():
    data = post(siret="732 829 320 00074", perte="55,5", motif="Inondation",
                iban="fr76 3000 6000 0112 3456 7890 189", **{
                    "salaries-count": "1", "salaries-0-nom": "Dupont",
                    "salaries-0-entree": "01/02/2020"})
    form = build_page_form(SCHEMA, "entreprise", answers={}, data=data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "siret": SIRET, "perte": "55.5", "motif": "Inondation",
        "iban": "FR7630006000011234567890189",
        "salaries": [{"nom": "Dupont", "entree": "2020-02-01"}]}
    assert json.loads(json.dumps(form.answers)) == form.cleaned_data


# Repeatable blocks -------------------------------------------------------------------------

def block_entry(form):
    return next(entry for entry in form.layout if entry["kind"] == "block")


def test_block_shows_one_set_of_inputs_per_saved_item():
    answers = {"salaries": [{"nom": "Dupont", "entree": "2020-02-01"}, {"nom": "Durand"}]}
    form = build_page_form(SCHEMA, "entreprise", answers=answers)
    entry = block_entry(form)
    assert [item["number"] for item in entry["items"]] == [1, 2]
    assert form["salaries-0-nom"].value() == "Dupont"
    assert form["salaries-1-nom"].value() == "Durand"
    assert form["salaries-count"].value() == 2
    assert entry["add_name"] == "_add_salaries" and entry["can_add"]
    assert entry["items"][1]["remove_name"] == "_remove_salaries-1"


def test_add_one_more_without_javascript_keeps_what_was_typed():
    data = post(siret="faux", perte="60", motif="", **{
        "salaries-count": "1", "salaries-0-nom": "Dupont", "_add_salaries": "1"})
    form = build_page_form(SCHEMA, "entreprise", answers={}, data=data)
    assert not form.is_valid()            # adding an item is not a submission...
    assert form.errors == {}              # ... and shows no error yet
    assert [item["number"] for item in block_entry(form)["items"]] == [1, 2]
    assert form["salaries-0-nom"].value() == "Dupont"
    assert form["salaries-1-nom"].value() in (None, "")
    assert form["siret"].value() == "faux"
    # The empty new item has no name yet (required, so left out until typed).
    assert form.cleaned_data["salaries"] == [{"nom": "Dupont", "entree": None},
                                             {"entree": None}]


def test_remove_an_item_moves_the_following_ones_up():
    data = post(siret=SIRET, perte="10", **{
        "salaries-count": "3", "salaries-0-nom": "Dupont", "salaries-1-nom": "Durand",
        "salaries-2-nom": "Martin", "_remove_salaries-1": "1"})
    form = build_page_form(SCHEMA, "entreprise", answers={}, data=data)
    assert [item["number"] for item in block_entry(form)["items"]] == [1, 2]
    assert form["salaries-0-nom"].value() == "Dupont"
    assert form["salaries-1-nom"].value() == "Martin"


def test_block_cannot_grow_beyond_its_maximum():
    data = post(siret=SIRET, perte="10", **{
        "salaries-count": "3", "salaries-0-nom": "A", "salaries-1-nom": "B",
        "salaries-2-nom": "C", "_add_salaries": "1"})
    form = build_page_form(SCHEMA, "entreprise", answers={}, data=data)
    entry = block_entry(form)
    assert len(entry["items"]) == 3 and not entry["can_add"]


def test_block_items_are_validated_and_minimum_enforced():
    schema = schema_with(lambda s: s["pages"][0]["fields"][5]["options"].update(min=2))
    form = build_page_form(schema, "entreprise", answers={},
                           data=post(siret=SIRET, perte="10", **{
                               "salaries-count": "2", "salaries-0-nom": "Dupont",
                               "salaries-0-entree": "32/01/2020", "salaries-1-nom": ""}))
    assert not form.is_valid()
    assert form.errors["salaries-1-nom"] == ["Ce champ est obligatoire."]
    assert form.errors["salaries-0-entree"] == [
        "Saisissez une date valide, par exemple 31/12/2026."]
    tampered = build_page_form(schema, "entreprise", answers={},
                               data=post(siret=SIRET, perte="10", **{"salaries-count": "0"}))
    # A forged count below the minimum is raised back to it: two (empty) items to fill in.
    assert len(block_entry(tampered)["items"]) == 2
    assert not tampered.is_valid()


def test_required_block_starts_with_one_item():
    schema = schema_with(lambda s: s["pages"][0]["fields"][5].update(required=True))
    form = build_page_form(schema, "entreprise", answers={})
    assert len(block_entry(form)["items"]) == 1
    assert form.fields["salaries-0-nom"].required


# Files -------------------------------------------------------------------------------------



LOCAL = {"perte": "60"}
LOCAL_POST = {"adresse__street": "1 rue Haute", "adresse__postcode": "12345",
              "adresse__city": "Valmont", "proprietaire": "non"}


def test_uploads_are_handed_to_the_caller_then_stored_as_ids(dossier_purpose):
    bail = upload("bail.pdf", pdf_bytes(), "application/pdf")
    form = build_page_form(SCHEMA, "local", answers=LOCAL, data=post(**LOCAL_POST),
                           files=MultiValueDict({"bail": [bail]}))
    assert form.is_valid(), form.errors
    assert form.pending_uploads == {"bail": bail}
    assert form.cleaned_data["bail"] is bail          # what services store
    form.set_stored_file("bail", "5f0c1a52-0000-4000-8000-000000000001")
    assert form.answers["bail"] == "5f0c1a52-0000-4000-8000-000000000001"


def test_a_disguised_file_is_refused_on_the_field(dossier_purpose):
    form = build_page_form(SCHEMA, "local", answers=LOCAL, data=post(**LOCAL_POST),
                           files=MultiValueDict({"bail": [upload("bail.pdf", exe_bytes(),
                                                                 "application/pdf")]}))
    assert not form.is_valid()
    assert form.errors["bail"] == [
        "Le fichier est de type EXE (programme Windows) ; formats acceptés : PDF."]
    assert form.cleaned_data["adresse"]["city"] == "Valmont"


def test_a_file_already_given_is_kept_without_uploading_it_again(dossier_purpose):
    answers = {**LOCAL, "bail": "5f0c1a52-0000-4000-8000-000000000001"}
    form = build_page_form(SCHEMA, "local", answers=answers, data=post(**LOCAL_POST))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["bail"] == "5f0c1a52-0000-4000-8000-000000000001"
    assert form.pending_uploads == {}
    assert "Un fichier est déjà joint" in form.fields["bail"].help_text


def test_a_required_file_missing_is_an_error(dossier_purpose):
    form = build_page_form(SCHEMA, "local", answers=LOCAL, data=post(**LOCAL_POST))
    assert form.errors["bail"] == ["Ce champ est obligatoire."]


# Summary -----------------------------------------------------------------------------------

def test_summary_shows_visible_answers_the_french_way(dossier_purpose, organisation, resident,
                                                      django_assert_num_queries):
    stored = store_upload(actor=resident, organisation=organisation,
                          uploaded_file=upload("bail-2026.pdf", pdf_bytes(), "application/pdf"),
                          purpose=FILE_PURPOSE)
    answers = {
        "siret": SIRET, "perte": "55.5", "motif": "Inondation",
        "iban": "FR7630006000011234567890189",
        "salaries": [{"nom": "Dupont", "entree": "2020-02-01"}, {"nom": "Durand"}],
        "adresse": {"street": "1 rue Haute", "postcode": "12345", "city": "Valmont"},
        "proprietaire": False, "bail": str(stored.pk), "ouverture": "2026-04-01",
        "courriel": "marie@exemple.fr", "telephone": "+33612345678", "aides": ["fsn", "pge"],
    }
    with django_assert_num_queries(1):
        summary = answers_summary(SCHEMA, answers)
    assert summary == [
        ("Numéro SIRET", "732 829 320 00074"),
        ("Perte de chiffre d'affaires (%)", "55,5"),
        ("Précisez", "Inondation"),
        ("IBAN", "FR76 3000 6000 0112 3456 7890 189"),
        ("Salariés (1)", "Nom : Dupont ; Date d'entrée : 01/02/2020"),
        ("Salariés (2)", "Nom : Durand"),
        ("Adresse du local", "1 rue Haute, 12345 Valmont"),
        ("Êtes-vous propriétaire ?", "Non"),
        ("Bail commercial", "bail-2026.pdf"),
        ("Date d'ouverture", "01/04/2026"),
        ("Courriel", "marie@exemple.fr"),
        ("Téléphone", "06 12 34 56 78"),
        ("Aides déjà reçues", "Fonds de solidarité, Prêt garanti"),
    ]


@pytest.mark.django_db
def test_summary_leaves_out_hidden_pages_and_fields(django_assert_num_queries):
    answers = {"siret": SIRET, "perte": "20", "motif": "reste d'un brouillon",
               "adresse": {"street": "1 rue Haute", "postcode": "12345", "city": "Valmont"},
               "courriel": "marie@exemple.fr"}
    with django_assert_num_queries(0):
        summary = answers_summary(SCHEMA, answers)
    assert summary == [("Numéro SIRET", "732 829 320 00074"),
                       ("Perte de chiffre d'affaires (%)", "20"),
                       ("Courriel", "marie@exemple.fr")]
