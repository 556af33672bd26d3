"""The expression language: what agents may write, what is refused, and how it evaluates."""

import datetime
import decimal
import time

import pytest

from mairie.procedures.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    compile_expression,
    is_true,
)

NAMES = {"perte", "salarie", "motif", "adresse", "choix", "naissance", "nom", "montant"}

ANSWERS = {
    "perte": "75",                  # numbers are stored as text
    "salarie": True,
    "motif": "Incendie de l'atelier",
    "adresse": {"street": "1 rue Haute", "postcode": "12345", "city": "Valmont"},
    "choix": ["stationnement", "voirie"],
    "naissance": "2000-01-31",      # dates are stored as ISO text
    "nom": "Dupont",
    "montant": 1200.5,
}
TODAY = datetime.date(2026, 3, 1)


def evaluate(text, answers=ANSWERS):
    return compile_expression(text, names=NAMES).evaluate({**answers, "today": TODAY})


@pytest.mark.parametrize(("text", "expected"), [
    ("perte >= 50", True),
    ("perte > 75", False),
    ("perte >= 50 and salarie", True),
    ("perte >= 50 and not salarie", False),
    ("perte < 10 or salarie", True),
    ("10 < perte < 100", True),
    ("perte == 75", True),
    ("perte == 75.0", True),
    ("perte != 75", False),
    ("perte + 5 == 80", True),
    ("perte * 2 - 50 == 100", True),
    ("perte / 4 == 18.75", True),
    ("-perte < 0", True),
    ("montant > 1200", True),
    ("salarie == True", True),
    ("adresse.city == 'Valmont'", True),
    ("adresse.ville == 'Valmont'", True),
    ("adresse.code_postal == '12345'", True),
    ("adresse.postcode in ['12345', '12346']", True),
    ("'voirie' in choix", True),
    ("'eclairage' not in choix", True),
    ("'eclairage' in choix", False),
    ("len(choix) == 2", True),
    ("len(nom) > 3", True),
    ("lower(nom) == 'dupont'", True),
    ("contains(lower(motif), 'incendie')", True),
    ("contains(choix, 'voirie')", True),
    ("'atelier' in motif", True),
    ("naissance < today", True),
    ("naissance == '2000-01-31'", True),
    ("days_since(naissance) > 365 * 18", True),
    ("days_since('2026-02-27') == 2", True),
    ("nom in ('Dupont', 'Durand')", True),
    ("not (perte < 50)", True),
])
def test_valid_expressions_evaluate_on_stored_answers(text, expected):
    assert evaluate(text) is expected or evaluate(text) == expected
    assert is_true(text, {**ANSWERS, "today": TODAY}) is expected


def test_names_lists_what_the_expression_reads():
    expression = compile_expression("perte >= 50 and adresse.city == 'Valmont' or naissance "
                                    "< today", names=NAMES)
    assert expression.names == {"perte", "adresse", "naissance", "today"}
    assert expression.address_names == {"adresse"}


@pytest.mark.parametrize(("text", "expected"), [
    ("perte >= 50", False),          # a missing number is not greater than anything
    ("perte < 50", False),           # ... nor smaller
    ("perte == None", True),
    ("perte != 75", True),
    ("not salarie", True),
    ("adresse.city == 'Valmont'", False),
    ("'voirie' in choix", False),
    ("'voirie' not in choix", True),
    ("len(choix) == 0", True),
    ("lower(nom) == 'dupont'", False),
    ("contains(motif, 'x')", False),
    ("days_since(naissance) > 10", False),
    ("perte + 1 > 0", False),         # arithmetic on a missing answer gives nothing
    ("naissance < today", False),
])
def test_missing_answers_never_raise(text, expected):
    assert is_true(text, {"today": TODAY}) is expected


@pytest.mark.parametrize("text", [
    "nom > 3",               # text and number
    "motif < today",         # text and date
    "salarie > 0",           # yes/no and number
    "adresse > 'a'",         # an address has no order
    "perte / 0 > 1",         # division by zero
    "3 in perte",            # a number is not a container
    "'a' in salarie",
])
def test_type_mismatches_are_false_not_errors(text):
    assert is_true(text, {**ANSWERS, "today": TODAY}) is False


def test_arithmetic_that_cannot_be_done_gives_none():
    assert evaluate("nom * 1000000000") is None       # no string repetition
    assert evaluate("perte / 0") is None
    assert evaluate(" * ".join(["1e300"] * 40)) is None     # beyond 10^10000: overflow


def test_numbers_are_exact_decimals():
    assert evaluate("0.1 + 0.2 == 0.3") is True
    assert evaluate("perte + 0.5") == decimal.Decimal("75.5")


def test_today_defaults_to_the_local_date():
    expression = compile_expression("days_since(today) == 0", names=set())
    assert expression.evaluate({}) is True


def test_empty_condition_always_holds():
    assert is_true("", {}) is True
    assert is_true("   ", {}) is True
    assert is_true(None, {}) is True


def test_an_invalid_stored_expression_is_false():
    # A guard saved before a rule changed must block rather than let a transition through.
    assert is_true("__import__('os')", {}) is False


@pytest.mark.parametrize(("text", "fragment"), [
    ("__import__('os')", "La fonction « __import__ » n'existe pas"),
    ("eval('1')", "La fonction « eval » n'existe pas"),
    ("open('/etc/passwd')", "La fonction « open » n'existe pas"),
    ("nom.__class__", "L'attribut « __class__ » n'existe pas"),
    ("nom.__class__.__bases__", "L'attribut « __bases__ » n'existe pas"),
    ("adresse.city.upper", "L'attribut « upper » n'existe pas"),
    ("'x'.join(choix)", "Seules ces fonctions peuvent être appelées"),
    ("lambda: 1", "les fonctions lambda"),
    ("(lambda: 1)()", "Seules ces fonctions peuvent être appelées"),
    ("[x for x in choix]", "les compréhensions de liste"),
    ("{x: 1 for x in choix}", "les compréhensions de dictionnaire"),
    ("any(x for x in choix)", "La fonction « any » n'existe pas"),
    ("choix[0]", "l'accès par crochets"),
    ("adresse['city']", "l'accès par crochets"),
    ("9**9**9", "la puissance (**)"),
    ("perte % 2", "le modulo"),
    ("perte // 2", "la division entière"),
    ("perte if salarie else 0", "« … if … else … »"),
    ("{'a': 1}", "les dictionnaires"),
    ("f'{nom}'", "les chaînes formatées"),
    ("(x := 1)", "l'affectation"),
    ("nom is None", "« is » (utilisez ==)"),
    ("b'abc'", "Valeur non autorisée"),
    ("1j", "Valeur non autorisée"),
    ("len(*choix)", "s'appelle avec de simples valeurs"),
    ("len(x=choix)", "s'appelle avec de simples valeurs"),
    ("len(nom, motif)", "attend 1 valeur(s), 2 donnée(s)"),
    ("perte >", "Syntaxe incorrecte"),
    ("perte = 50", "Syntaxe incorrecte"),
    ("import os", "Syntaxe incorrecte"),
    ("'non fermé", "Syntaxe incorrecte"),
    ("", "L'expression est vide"),
])
def test_unsafe_or_unsupported_syntax_is_refused(text, fragment):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, names=NAMES)
    assert fragment in str(caught.value)


def test_unknown_name_lists_the_known_names_and_suggests_one():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("pertes >= 50", names={"perte", "motif"})
    message = str(caught.value)
    assert "Le nom « pertes » est inconnu." in message
    assert "Vouliez-vous dire « perte » ?" in message
    assert "Noms connus : motif, perte, today." in message
    assert "(caractère 1)" in message


def test_error_positions_count_characters_not_bytes():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("motif == 'été' and inconnu", names={"motif"})
    assert caught.value.position == len("motif == 'été' and ") + 1


def test_without_names_any_name_compiles_and_reads_as_missing():
    expression = compile_expression("champ_inconnu == 3")
    assert expression.evaluate({}) is False


def test_too_long_is_refused_before_parsing():
    long_text = "nom == '" + "a" * MAX_LENGTH + "'"
    with pytest.raises(ExpressionError) as caught:
        compile_expression(long_text, names=NAMES)
    assert "trop longue (500 caractères au plus" in str(caught.value)


def test_too_deep_is_refused():
    deep = "not " * (MAX_DEPTH + 1) + "salarie"
    with pytest.raises(ExpressionError) as caught:
        compile_expression(deep, names=NAMES)
    assert "trop imbriquée (20 niveaux au plus)" in str(caught.value)
    assert compile_expression("not " * (MAX_DEPTH - 2) + "salarie", names=NAMES)


def test_nested_parentheses_beyond_the_parser_limit_are_a_clean_error():
    with pytest.raises(ExpressionError):
        compile_expression("(" * 240 + "1" + ")" * 240)


def test_the_longest_allowed_expression_evaluates_quickly():
    text = "(" + " + ".join(["99999999999999999999"] * 10) + ") * (" + \
        " * ".join(["99999999999999999999"] * 10) + ")"
    assert len(text) <= MAX_LENGTH
    expression = compile_expression(text)
    start = time.perf_counter()
    for _ in range(100):
        expression.evaluate({})
    assert time.perf_counter() - start < 1


def test_a_long_sum_of_answers_is_not_too_deep():
    names = {f"depense_{i}" for i in range(30)}
    text = " + ".join(sorted(names)) + " > 1000"
    expression = compile_expression(text, names=names)
    assert expression.evaluate({name: "40" for name in names}) is True
