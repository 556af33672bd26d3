"""The inbox costs the same number of queries for 5 or 40 dossiers, whatever their labels,
assignees and opinions, in every box, filtered and sorted (labels are prefetched, the box
counts come from one query)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mairie.core.factories import ServiceFactory, UserFactory, agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures.services import update_search_text

from .agent_helpers import file_dossier
from .inbox_helpers import ask_opinion, in_days, label, make_validation_procedure

INBOX = reverse("procedures:agent-inbox")
CEILING = 25  # session, user, organisation, memberships… and the page's own few queries

REQUESTS = [
    {"box": "services"},
    {"box": "all", "sort": "deadline"},
    {"box": "validation"},
    {"box": "mine", "sort": "-updated"},
    {"box": "opinions"},
    {"box": "all", "q": "martin", "deadline": "week", "assigned": "none",
     "submitted_from": "2020-01-01"},
]


@pytest.fixture
def setting(organisation, service, other_service, resident):
    cabinet = ServiceFactory(organisation=organisation, name="Cabinet", slug="cabinet")
    works = make_validation_procedure(organisation, service, head_service=other_service,
                                      mayor_service=cabinet)
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="dgs@valmont.example")
    labels = [label(organisation, name) for name in ("Urgent", "Pièce manquante", "Élu")]
    return {"works": works, "director": director, "labels": labels, "other": other_service,
            "states": ["depose", "instruction", "validation", "signature"]}


def add_dossiers(setting, start, stop):
    for n in range(start, stop):
        applicant = UserFactory(organisation=setting["works"].organisation)
        dossier = file_dossier(setting["works"], applicant, number=f"2026-{n:06d}",
                               state=setting["states"][n % 4], minutes_ago=n)
        dossier.labels.set(setting["labels"][: 1 + n % 3])
        dossier.deadline_at = in_days(n % 9)
        dossier.assigned_to = setting["director"] if n % 2 else None
        dossier.save()
        update_search_text(dossier)
        if n % 3 == 0:
            ask_opinion(dossier, setting["other"], answered=n % 2 == 0)


def test_the_query_count_does_not_grow_with_dossiers_labels_or_boxes(
        client, setting, django_assert_max_num_queries):
    client.force_login(setting["director"])
    client.get(INBOX)  # warm the session and caches
    add_dossiers(setting, 0, 5)
    small = []
    for params in REQUESTS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(INBOX, {**params, "label": setting["labels"][0].pk})
        assert response.status_code == 200
        assert len(captured.captured_queries) <= CEILING, params
        small.append(len(captured.captured_queries))
        assert response.context["page_obj"].object_list, params  # something is listed
    add_dossiers(setting, 5, 40)
    for params, count in zip(REQUESTS, small, strict=True):
        with django_assert_max_num_queries(count):
            response = client.get(INBOX, {**params, "label": setting["labels"][0].pk})
        assert response.status_code == 200
    listed = client.get(INBOX, {"box": "all"}).context["page_obj"].object_list
    assert len(listed) == 25
    assert all(d.labels.all() for d in listed)  # labels shown from the prefetch


def test_the_agents_scope_costs_three_queries_whatever_the_number_of_procedures(
        setting, organisation, service, other_service, django_assert_num_queries):
    from mairie.procedures.queries import AgentScope

    cabinet = ServiceFactory(organisation=organisation, name="Cabinet 2", slug="cabinet-2")
    for n in range(6):
        make_validation_procedure(organisation, service, head_service=other_service,
                                  mayor_service=cabinet, slug=f"travaux-{n}")
    with django_assert_num_queries(3):  # memberships, role mappings, versions
        scope = AgentScope(setting["director"], organisation)
        assert len(scope.role_versions) == 7
        assert scope.condition("validation") is not None
