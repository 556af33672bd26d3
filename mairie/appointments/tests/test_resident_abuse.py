"""Past the rate limits, the booking and waiting-list forms ask a question in words; the right
answer lets the attempt through, a wrong one explains and keeps what was typed."""

import re

import pytest
from django.core import signing
from django.urls import reverse

from mairie.appointments import abuse
from mairie.appointments.models import Appointment, WaitingListEntry

from .resident_helpers import (
    RESIDENT,
    make_passport,
    slots_of,
)


@pytest.fixture
def passport(organisation, agent):
    return make_passport(organisation, agent)

WORDS = {"un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
         "huit": 8, "neuf": 9}


@pytest.fixture
def low_limits(settings):
    settings.APPOINTMENTS_RATE_LIMITS = {"book": {"ip": (2, 3600), "email": (10, 3600)},
                                         "waiting_list": {"ip": (1, 3600)}}


def answer_of(page) -> str:
    """What a person answers: the sum of the two numbers the question says in words."""
    question = re.search(r"Combien font (\S+) plus (\S+) \?", page.text)
    assert question, "no question on the page"
    return str(WORDS[question.group(1)] + WORDS[question.group(2)])


def token_of(page) -> str:
    return re.search(r'name="check-token" value="([^"]+)"', page.text).group(1)


def test_under_the_limit_there_is_no_question(client, passport, low_limits):
    page = client.post(reverse("appointments:book", args=[passport.pk, slots_of(passport)[0].pk]),
                       {**RESIDENT, "email": ""})
    assert page.status_code == 200 and "check-answer" not in page.text


def test_past_the_limit_the_question_then_the_right_answer_books(client, passport,
                                                                 low_limits):
    url = reverse("appointments:book", args=[passport.pk, slots_of(passport)[0].pk])
    for _ in range(2):  # two mistakes: under the limit
        client.post(url, {**RESIDENT, "phone": ""})
    asked = client.post(url, RESIDENT)
    assert asked.status_code == 200
    assert "Question de vérification" in asked.text and "répondez à la question" in asked.text
    assert 'value="camille@example.org"' in asked.text  # the input is kept
    assert not Appointment.objects.exists()

    wrong = client.post(url, {**RESIDENT, "check-token": token_of(asked),
                              "check-answer": "99"})
    assert wrong.status_code == 200
    assert "n&#x27;est pas la bonne" in wrong.text or "n'est pas la bonne" in wrong.text
    assert 'value="Camille Martin"' in wrong.text
    assert token_of(wrong) != token_of(asked)  # a new question
    assert not Appointment.objects.exists()

    done = client.post(url, {**RESIDENT, "check-token": token_of(wrong),
                             "check-answer": answer_of(wrong)})
    assert done.status_code == 302
    assert Appointment.objects.get().email == "camille@example.org"


def test_an_answer_cannot_be_replayed_nor_a_question_chosen(client, passport, low_limits):
    slots = slots_of(passport)
    url = reverse("appointments:book", args=[passport.pk, slots[0].pk])
    for _ in range(2):
        client.post(url, {**RESIDENT, "phone": ""})
    asked = client.post(url, {**RESIDENT, "phone": ""})
    token, answer = token_of(asked), answer_of(asked)
    first = client.post(url, {**RESIDENT, "phone": "", "check-token": token,
                              "check-answer": answer})
    assert "n&#x27;est pas la bonne" not in first.text  # passed; the phone is what is missing
    replay = client.post(url, {**RESIDENT, "check-token": token, "check-answer": answer})
    assert "pas la bonne" in replay.text and not Appointment.objects.exists()
    chosen = signing.dumps({"a": 1, "b": 1, "n": "x"}, salt="autre-chose")
    forged = client.post(url, {**RESIDENT, "check-token": chosen, "check-answer": "2"})
    assert "pas la bonne" in forged.text and not Appointment.objects.exists()


def test_the_limit_counts_per_email_across_addresses(client, passport, settings):
    settings.APPOINTMENTS_RATE_LIMITS = {"book": {"ip": (100, 3600), "email": (1, 3600)}}
    url = reverse("appointments:book", args=[passport.pk, slots_of(passport)[0].pk])
    client.post(url, {**RESIDENT, "phone": ""}, REMOTE_ADDR="10.0.0.1")
    asked = client.post(url, RESIDENT, REMOTE_ADDR="10.0.0.2")
    assert "Question de vérification" in asked.text
    other = client.post(url, {**RESIDENT, "email": "autre@example.org"}, REMOTE_ADDR="10.0.0.3")
    assert other.status_code == 302


def test_the_waiting_list_asks_too(client, passport, low_limits):
    url = reverse("appointments:waiting-list", args=[passport.pk])
    data = {"attente-name": "Léa Dupont", "attente-email": "lea@example.org"}
    assert client.post(url, data).status_code == 302
    asked = client.post(url, data)
    assert asked.status_code == 200 and "Question de vérification" in asked.text
    assert 'value="lea@example.org"' in asked.text
    done = client.post(url, {**data, "check-token": token_of(asked),
                             "check-answer": answer_of(asked)})
    assert done.status_code == 302
    assert WaitingListEntry.objects.filter(ended_at__isnull=True).count() == 1


@pytest.mark.parametrize("answer, right", [("7", True), (" sept ", True), ("Sept", True),
                                           ("8", False), ("", False), ("sept ans", False)])
def test_answers_in_digits_or_in_words(answer, right):
    token = signing.dumps({"a": 3, "b": 4, "n": f"n-{answer}"}, salt=abuse.CHECK_SALT)
    assert abuse.answer_is_right(token, answer) is right
