"""Statistics on a known dataset: received per week, by state, median processing time, share
decided within the deadline, backlog; the agent's scope; a bounded number of queries."""

import copy
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mairie.procedures import statistics as stats
from mairie.procedures.models import Dossier, ProcedureDefinition, ProcedureVersion, Workflow

from .conftest import SCHEMA, make_procedure

STATISTICS = reverse("procedures:statistics")
DEADLINE_WORKFLOW = {
    "roles": ["instructor"],
    "states": [
        {"key": "brouillon", "label": "Brouillon", "kind": "draft"},
        {"key": "depose", "label": "Déposé", "kind": "submitted", "deadline_days": 10},
        {"key": "instruction", "label": "En instruction", "kind": "instruction",
         "deadline_days": 20},
        {"key": "accepte", "label": "Accepté", "kind": "final"},
        {"key": "refuse", "label": "Refusé", "kind": "final"},
    ],
    "transitions": [],
}


def deadline_procedure(organisation, service, *, slug="voirie", title="Permis de voirie"):
    """A procedure whose workflow gives 10 + 20 = 30 days to decide."""
    workflow = Workflow.objects.create(organisation=organisation, name=f"Circuit {slug}",
                                       **copy.deepcopy(DEADLINE_WORKFLOW))
    definition = ProcedureDefinition.objects.create(organisation=organisation, slug=slug,
                                                    title=title, service=service)
    version = ProcedureVersion.objects.create(
        organisation=organisation, definition=definition, number=1,
        schema=copy.deepcopy(SCHEMA), workflow=workflow, published_at=timezone.now())
    definition.current_version = version
    definition.save()
    return definition


def filed(procedure, number, *, state, days_ago, decided_days_ago=None):
    now = timezone.now()
    return Dossier.objects.create(
        organisation=procedure.organisation, version=procedure.current_version, number=number,
        state=state, data={}, submitted_at=now - timedelta(days=days_ago),
        decided_at=(now - timedelta(days=decided_days_ago)
                    if decided_days_ago is not None else None))


@pytest.fixture
def dataset(organisation, service, other_service, foreign_procedure):
    voirie = deadline_procedure(organisation, service)
    filed(voirie, "2026-000001", state="depose", days_ago=3)
    filed(voirie, "2026-000002", state="instruction", days_ago=10)
    filed(voirie, "2026-000003", state="accepte", days_ago=20, decided_days_ago=10)   # 10 d
    filed(voirie, "2026-000004", state="refuse", days_ago=60, decided_days_ago=20)    # 40 d
    filed(voirie, "2026-000005", state="accepte", days_ago=50, decided_days_ago=30)   # 20 d
    filed(voirie, "2025-000006", state="accepte", days_ago=200, decided_days_ago=150)
    Dossier.objects.create(organisation=organisation, version=voirie.current_version,
                           state="brouillon", data={})  # a draft: never counted
    urbanisme = make_procedure(organisation, other_service, slug="permis", title="Permis")
    filed(urbanisme, "2026-000010", state="depose", days_ago=1)
    filed(foreign_procedure, "2026-000001", state="depose", days_ago=1)
    return {"voirie": voirie, "urbanisme": urbanisme}


def figures_for(user, organisation):
    procedures = list(stats.procedures_for_statistics(user, organisation))
    dossiers = stats.dossiers_for_statistics(user, organisation, procedures=procedures)
    return stats.compute(dossiers, procedures=procedures)


def test_figures_of_a_known_dataset(agent, organisation, dataset):
    figures = figures_for(agent, organisation)
    assert [row["procedure"] for row in figures.procedures] == [dataset["voirie"]]
    assert figures.received == 5          # the one of 200 days ago is before the period
    assert sum(n for _week, n in figures.weeks) == 5 and len(figures.weeks) == 12
    assert all(week.weekday() == 0 for week, _n in figures.weeks)  # Mondays
    assert figures.backlog == 2
    assert figures.decided == 3
    assert figures.median == timedelta(days=20)
    assert (figures.within_deadline, figures.with_deadline, figures.within_share) == (2, 3, 67)
    assert [(s["label"], s["count"]) for s in figures.states] == [
        ("Déposé", 1), ("En instruction", 1), ("Accepté", 3), ("Refusé", 1)]


def test_directors_and_administrators_see_every_service(administrator, organisation, dataset):
    figures = figures_for(administrator, organisation)
    assert {row["procedure"].slug for row in figures.procedures} == {"voirie", "permis"}
    assert figures.received == 6 and figures.backlog == 3
    permis = next(row for row in figures.procedures if row["procedure"].slug == "permis")
    assert permis["within_share"] is None and permis["median"] is None  # no deadline


def test_the_page_shows_accessible_charts_and_tables(client, agent, dataset):
    client.force_login(agent)
    response = client.get(STATISTICS)
    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('role="img"') == 2
    assert '<title id="weekly-title">' in content and '<desc id="weekly-desc">' in content
    assert 'aria-labelledby="states-title states-desc"' in content
    assert "Dossiers reçus par semaine (données du graphique)" in content
    assert "<th scope=\"row\">En instruction</th><td>1</td>" in content
    assert "20 j" in content and "67 %" in content
    # Coordinates are SVG numbers (a dot), whatever the language of the page.
    assert not re.search(r'(x|y|width|height)="[0-9.]*,', content)
    assert "Permis de voirie" in content
    assert ">Permis<" not in content  # another service's procedure
    assert "<script" not in content.split("<main")[-1].split("</main>")[0]


def test_filtering_by_service_and_procedure(client, administrator, dataset, other_service):
    client.force_login(administrator)
    response = client.get(STATISTICS, {"service": str(other_service.pk)})
    figures = response.context["figures"]
    assert [row["procedure"].slug for row in figures.procedures] == ["permis"]
    assert figures.received == 1
    response = client.get(STATISTICS, {"procedure": str(dataset["voirie"].pk)})
    assert response.context["figures"].received == 5
    # A procedure the agent may not see is a form error, never a widening.
    response = client.get(STATISTICS, {"procedure": "00000000-0000-0000-0000-000000000000"})
    assert response.context["form"].errors


def test_another_organisations_agent_sees_nothing_of_ours(client, foreign_agent, dataset):
    client.force_login(foreign_agent)
    response = client.get(STATISTICS, HTTP_HOST="autre.localhost")
    assert response.status_code == 200
    assert "Permis de voirie" not in response.content.decode()
    assert response.context["figures"].received == 1  # their own dossier only


def test_the_number_of_queries_does_not_grow_with_the_dossiers(client, agent, dataset):
    client.force_login(agent)
    client.get(STATISTICS)
    with CaptureQueriesContext(connection) as before:
        client.get(STATISTICS)
    for index in range(40):
        filed(dataset["voirie"], f"2026-1{index:05}", state="accepte", days_ago=index + 5,
              decided_days_ago=index)
    with CaptureQueriesContext(connection) as after:
        response = client.get(STATISTICS)
    assert len(after.captured_queries) == len(before.captured_queries) <= 20
    assert response.context["figures"].received == 45
