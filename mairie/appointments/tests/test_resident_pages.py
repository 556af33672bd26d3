"""The residents' pages: the types of the organisation, and a type's next free slots."""

import datetime
import re

import pytest
from django.urls import reverse

from mairie.appointments import services
from mairie.appointments.models import Slot

from .plan import make_availability, make_counter, make_type, next_weekday


@pytest.fixture
def passport(organisation, agent):
    counter = make_counter(organisation, address="1 place de la Mairie")
    make_availability(agent, counter)
    appointment_type = make_type(organisation, counters=[counter], agents=[agent])
    monday = next_weekday(0)
    services.generate_slots(appointment_type=appointment_type, start=monday,
                            end=monday + datetime.timedelta(days=2))
    return appointment_type


def test_the_types_page_lists_the_organisations_types(client, passport, other_organisation):
    make_type(other_organisation, name="Rendez-vous d'ailleurs", counters=[], agents=[])
    page = client.get(reverse("appointments:types"))
    assert page.status_code == 200
    assert "Passeport et carte d" in page.text and "ailleurs" not in page.text


def test_the_free_slots_page_pages_forward_in_a_bounded_number_of_queries(
        client, passport, django_assert_max_num_queries):
    first = Slot.objects.filter(appointment_type=passport).order_by("start").first()
    services.book_appointment(appointment_type=passport, slot=first, name="Camille Martin",
                              email="camille@example.org", phone="0612345678")
    url = reverse("appointments:free-slots", args=[passport.pk])
    with django_assert_max_num_queries(8):
        page = client.get(url)
    assert page.status_code == 200
    assert page.text.count("<time ") == 20
    assert "09h00" not in page.text.split("<time ")[1]  # the booked 9:00 is not offered
    assert "09h20" in page.text and "1 place de la Mairie" in page.text
    assert "Créneaux suivants" in page.text
    later = client.get(url, {"a_partir_du": (next_weekday(0) + datetime.timedelta(days=2))
                             .isoformat()})
    assert later.text.count("<time ") == 18
    assert client.get(url, {"a_partir_du": "n'importe quoi"}).status_code == 200


def test_the_next_slots_link_goes_on_just_after_the_last_time_shown(client, passport):
    """20 shown: Monday's 18 and Tuesday's first 2; « Créneaux suivants » goes on with
    Tuesday's third, not with Wednesday."""
    slots = list(Slot.objects.filter(appointment_type=passport).order_by("start"))
    url = reverse("appointments:free-slots", args=[passport.pk])
    first = client.get(url)
    link = re.search(r'href="(\?apres=[^"]+)">Créneaux suivants', first.text).group(1)
    second = client.get(url + link)
    shown = re.findall(r'creneau/([0-9a-f-]{36})/', second.text)
    assert shown == [str(slot.pk) for slot in slots[20:40]]
    assert "Revenir aux premiers créneaux libres" not in first.text
    back = re.search(r'href="([^"]*)">Revenir aux premiers créneaux libres', second.text)
    assert back.group(1) == "?"
    again = client.get(url + back.group(1))
    assert re.findall(r'creneau/([0-9a-f-]{36})/', again.text) == [str(s.pk) for s in slots[:20]]
    assert client.get(url, {"apres": "hier"}).status_code == 200  # ignored: from now


def test_two_agents_free_at_the_same_time_are_one_time_for_the_resident(
        client, passport, service, django_assert_max_num_queries):
    from mairie.core.factories import agent_factory

    counter = passport.counters.get()
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    make_availability(colleague, counter)
    passport.agents.add(colleague)
    monday = next_weekday(0)
    services.generate_slots(appointment_type=passport, start=monday,
                            end=monday + datetime.timedelta(days=2))
    nine = Slot.objects.filter(appointment_type=passport).order_by("start").first().start
    assert Slot.objects.filter(appointment_type=passport, start=nine).count() == 2
    url = reverse("appointments:free-slots", args=[passport.pk])
    with django_assert_max_num_queries(8):
        page = client.get(url)
    times = re.findall(r'<time datetime="([^"]+)"', page.text)
    assert len(times) == 20 and len(set(times)) == 20
    # One of the two 9:00 taken, 9:00 is still offered, with the other agent's slot.
    offered = re.search(r'creneau/([0-9a-f-]{36})/', page.text).group(1)
    services.book_appointment(appointment_type=passport, slot=Slot.objects.get(pk=offered),
                              name="Camille Martin", email="camille@example.org",
                              phone="0612345678")
    again = re.search(r'creneau/([0-9a-f-]{36})/', client.get(url).text).group(1)
    assert again != offered and Slot.objects.get(pk=again).start == nine


def test_another_organisations_type_is_not_found(client, passport, other_organisation):
    other = make_type(other_organisation, counters=[], agents=[])
    assert client.get(reverse("appointments:free-slots", args=[other.pk])).status_code == 404
