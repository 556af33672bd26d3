"""The inbox's boxes: "À moi", "Mes services" (workflow roles, as `rules.abilities` reads
them), "À valider" (validation states the agent decides), "Avis demandés" (opinions awaited
from their services) and "Tous" (directors and administrators), with their counts — and
nobody sees a dossier they may not open, whatever the box."""

import pytest
from django.urls import reverse

from mairie.core.factories import ServiceFactory, agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures import queries
from mairie.procedures.rules import abilities

from .agent_helpers import file_dossier
from .conftest import make_procedure
from .inbox_helpers import ask_opinion, make_validation_procedure

INBOX = reverse("procedures:agent-inbox")
BOXES = ("mine", "services", "validation", "opinions", "all")


def numbers(response):
    return sorted(d.number for d in response.context["page_obj"].object_list)


def counts(response):
    return {item["key"]: item["count"] for item in response.context["boxes"]}


@pytest.fixture
def world(organisation, service, other_service, agent, administrator, resident):
    """Four services: "accueil" instructs both procedures of its own, "urbanisme" validates
    the works and owns a third procedure, "cabinet" signs, "finances" is consulted."""
    cabinet = ServiceFactory(organisation=organisation, name="Cabinet du maire", slug="cabinet")
    finances = ServiceFactory(organisation=organisation, name="Finances", slug="finances")
    sports = ServiceFactory(organisation=organisation, name="Sports", slug="sports")
    head = agent_factory(service=other_service, email="chef@valmont.example")
    mayor = agent_factory(service=cabinet, email="maire@valmont.example")
    expert = agent_factory(service=finances, email="finances@valmont.example")
    stranger = agent_factory(service=sports, email="sports@valmont.example")
    simple = make_procedure(organisation, service)
    works = make_validation_procedure(organisation, service, head_service=other_service,
                                      mayor_service=cabinet)
    planning = make_procedure(organisation, other_service, slug="urba", title="Permis")
    d = {
        "d1": file_dossier(simple, resident, number="2026-000001"),
        "d2": file_dossier(works, resident, number="2026-000002", state="instruction"),
        "d3": file_dossier(works, resident, number="2026-000003", state="validation"),
        "d4": file_dossier(works, resident, number="2026-000004", state="signature"),
        "d5": file_dossier(planning, resident, number="2026-000005"),
    }
    d["d1"].assigned_to = agent
    d["d1"].save()
    d["d5"].assigned_to = stranger  # assigned, but to someone who plays no role on it
    d["d5"].save()
    ask_opinion(d["d2"], finances)
    ask_opinion(d["d1"], finances, answered=True)
    return {"agent": agent, "administrator": administrator, "head": head, "mayor": mayor,
            "expert": expert, "stranger": stranger, "works": works, **d}


EXPECTED = {
    # who: {box: dossiers} (a box absent here is not offered to them)
    "agent": {"mine": ["1"], "services": ["1", "2", "3", "4"], "validation": [],
              "opinions": []},
    "head": {"mine": [], "services": ["2", "3", "4", "5"], "validation": ["3"],
             "opinions": []},
    "mayor": {"mine": [], "services": ["2", "3", "4"], "validation": ["4"], "opinions": []},
    "expert": {"mine": [], "services": [], "validation": [], "opinions": ["2"]},
    "stranger": {"mine": [], "services": [], "validation": [], "opinions": []},
    "administrator": {"mine": [], "services": ["1", "2", "3", "4"], "validation": [],
                      "opinions": [], "all": ["1", "2", "3", "4", "5"]},
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_box_lists_exactly_what_the_agent_may_see_with_its_count(client, world, who):
    client.force_login(world[who])
    expected = {box: [f"2026-00000{n}" for n in found]
                for box, found in EXPECTED[who].items()}
    for box, dossiers in expected.items():
        response = client.get(INBOX, {"box": box})
        assert response.status_code == 200
        assert response.context["box"] == box
        assert numbers(response) == dossiers, box
        assert counts(response) == {b: len(v) for b, v in expected.items()}
    tabs = [item["key"] for item in response.context["boxes"]]
    assert tabs == [box for box in BOXES if box in expected]


def test_the_tabs_show_each_box_with_its_count_and_the_current_one(client, world):
    client.force_login(world["head"])
    content = client.get(INBOX, {"box": "validation"}).content.decode()
    assert 'href="?box=validation" aria-current="page">À valider <span class="badge">1' in content
    assert 'href="?box=services">Mes services <span class="badge">4' in content
    assert "Tous les dossiers" not in content


def test_the_all_box_falls_back_to_the_services_for_a_plain_agent(client, world):
    client.force_login(world["head"])
    response = client.get(INBOX, {"box": "all"})
    assert response.context["box"] == "services"
    assert numbers(response) == ["2026-000002", "2026-000003", "2026-000004", "2026-000005"]
    assert queries.dossiers_for_agent(world["head"], world["works"].organisation,
                                      box="all").count() == 0
    assert queries.dossiers_for_agent(world["head"], world["works"].organisation,
                                      box="nonsense").count() == 0


def test_the_services_box_follows_the_roles_abilities_read(world, organisation):
    """Whoever has a dossier in "Mes services" may process it, and the other way round."""
    from mairie.procedures.models import Dossier

    for who in ("agent", "head", "mayor", "expert", "stranger"):
        user = world[who]
        listed = set(queries.dossiers_for_agent(user, organisation, box="services")
                     .values_list("pk", flat=True))
        for dossier in Dossier.objects.filter(submitted_at__isnull=False):
            assert (dossier.pk in listed) == abilities(user, dossier)["process"], (who, dossier)


def test_a_validation_box_entry_leaves_it_when_the_dossier_moves_on(client, world):
    client.force_login(world["head"])
    world["d3"].state = "signature"
    world["d3"].save()
    assert numbers(client.get(INBOX, {"box": "validation"})) == []
    client.force_login(world["mayor"])
    assert numbers(client.get(INBOX, {"box": "validation"})) == ["2026-000003", "2026-000004"]


def test_a_consulted_agent_opens_only_the_dossiers_their_service_was_asked_about(
        client, world, organisation):
    expert = world["expert"]
    for key in ("d1", "d2"):  # answered and still open
        assert queries.dossier_for_agent(expert, organisation, world[key].pk) == world[key]
        rights = abilities(expert, world[key])
        assert rights["view"] and not rights["process"]
    for key in ("d3", "d4", "d5"):
        with pytest.raises(queries.Http404):
            queries.dossier_for_agent(expert, organisation, world[key].pk)
    readable = queries.dossiers_readable_by_agent(expert, organisation)
    assert sorted(d.number for d in readable) == ["2026-000001", "2026-000002"]
    client.force_login(expert)
    assert client.get(reverse("procedures:agent-dossier", args=[world["d2"].pk])
                      ).status_code == 200
    assert client.get(reverse("procedures:agent-dossier", args=[world["d3"].pk])
                      ).status_code == 404
    # The procedure filter offers the procedures they were consulted on, nothing else.
    procedures = client.get(INBOX).context["form"].fields["procedure"].choices
    assert [title for _pk, title in procedures] == ["Toutes", "Aide de test",
                                                    "Déclaration de travaux"]


def test_an_agent_of_another_service_finds_nothing_even_assigned(client, world, organisation):
    stranger = world["stranger"]
    client.force_login(stranger)
    for box in BOXES:
        response = client.get(INBOX, {"box": box})
        assert numbers(response) == []
        assert "2026-00000" not in response.content.decode()
        assert set(counts(response).values()) == {0}
    for key in ("d1", "d2", "d3", "d4", "d5"):
        assert client.get(reverse("procedures:agent-dossier", args=[world[key].pk])
                          ).status_code == 404
    assert client.get(INBOX).context["form"].fields["procedure"].choices == [("", "Toutes")]
    assert not queries.dossiers_readable_by_agent(stranger, organisation).exists()


def test_another_organisations_agent_and_residents_see_nothing(client, world, foreign_agent,
                                                               organisation,
                                                               resident):
    client.force_login(foreign_agent)
    for box in BOXES:
        response = client.get(INBOX, {"box": box}, HTTP_HOST="autre.localhost")
        assert response.status_code == 200
        assert numbers(response) == []
        assert set(counts(response).values()) == {0}
        assert "2026-00000" not in response.content.decode()
        assert "Aide de test" not in response.content.decode()
    assert client.get(reverse("procedures:agent-dossier", args=[world["d1"].pk]),
                      HTTP_HOST="autre.localhost").status_code == 404
    assert client.get(INBOX).status_code == 302  # nobody on our host
    assert not queries.dossiers_readable_by_agent(foreign_agent, organisation).exists()
    client.force_login(resident)  # the applicant of every dossier
    for box in BOXES:
        assert client.get(INBOX, {"box": box}).status_code == 403


def test_a_director_sees_everything_in_all_but_only_their_roles_elsewhere(
        client, world, organisation, other_service):
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="dgs@valmont.example")
    client.force_login(director)
    assert numbers(client.get(INBOX, {"box": "all"})) == [
        f"2026-00000{n}" for n in range(1, 6)]
    assert numbers(client.get(INBOX, {"box": "validation"})) == ["2026-000003"]
    assert queries.dossier_for_agent(director, organisation, world["d1"].pk) == world["d1"]


def test_a_workflow_without_roles_stays_with_the_owning_service(client, organisation, service,
                                                                agent, other_service, resident):
    from mairie.procedures.models import Workflow

    procedure = make_procedure(organisation, service, slug="sans-role", title="Sans rôle")
    Workflow.objects.filter(versions__definition=procedure).update(roles=[], transitions=[])
    file_dossier(procedure, resident, number="2026-000061")
    client.force_login(agent)
    assert numbers(client.get(INBOX)) == ["2026-000061"]
    client.force_login(agent_factory(service=other_service, email="u@valmont.example"))
    assert numbers(client.get(INBOX)) == []
