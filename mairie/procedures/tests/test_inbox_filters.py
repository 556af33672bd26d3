"""The inbox's filters (label, submission dates, deadline, assigned agent), its sorts (a select
and clickable column headers with aria-sort), its full-text search in the dossiers' answers
(accents and case ignored), and pagination that keeps all of them — without JavaScript."""

from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from mairie.core.factories import UserFactory, agent_factory
from mairie.procedures.models import Dossier
from mairie.procedures.services import update_search_text
from mairie.procedures.templatetags.procedures_inbox import deadline_status

from .agent_helpers import file_dossier
from .helpers import post_page, start
from .inbox_helpers import in_days, label

INBOX = reverse("procedures:agent-inbox")


def numbers(response):
    return [d.number for d in response.context["page_obj"].object_list]


@pytest.fixture
def dossiers(procedure, resident, agent, service):
    """Five dossiers with labels, deadlines, assignees and submission dates."""
    colleague = agent_factory(service=service, email="collegue@valmont.example",
                              first_name="Camille", last_name="Collègue")
    urgent, missing = (label(procedure.organisation, "Urgent", "red"),
                       label(procedure.organisation, "Pièce manquante", "orange"))
    made = {}
    plan = [  # number, minutes ago, deadline, assignee, labels
        ("2026-000001", 60 * 24 * 10, in_days(-2), agent, [urgent]),
        ("2026-000002", 60 * 24 * 5, in_days(3), colleague, [missing]),
        ("2026-000003", 60 * 24 * 2, None, None, [urgent, missing]),
        ("2026-000004", 60, in_days(20), agent, []),
        ("2026-000005", 5, in_days(6, hours=20), None, []),
    ]
    for number, minutes, deadline, assignee, labels in plan:
        dossier = file_dossier(procedure, resident, number=number, minutes_ago=minutes)
        Dossier.objects.filter(pk=dossier.pk).update(deadline_at=deadline, assigned_to=assignee)
        dossier.labels.set(labels)
        made[number] = dossier
    # "Dernière modification": touch the oldest one last.
    Dossier.objects.filter(pk=made["2026-000001"].pk).update(
        updated_at=timezone.now() + timedelta(minutes=1))
    return {"colleague": colleague, "urgent": urgent, "missing": missing, **made}


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def test_filters_by_label_deadline_and_assigned_agent(agent_client, agent, dossiers,
                                                      other_organisation):
    def listed(**params):
        return sorted(numbers(agent_client.get(INBOX, params)))

    assert listed(label=dossiers["urgent"].pk) == ["2026-000001", "2026-000003"]
    assert listed(label=dossiers["missing"].pk) == ["2026-000002", "2026-000003"]
    assert listed(deadline="overdue") == ["2026-000001"]
    assert listed(deadline="week") == ["2026-000002", "2026-000005"]
    assert listed(deadline="none") == ["2026-000003"]
    assert listed(assigned="me") == ["2026-000001", "2026-000004"]
    assert listed(assigned="none") == ["2026-000003", "2026-000005"]
    assert listed(assigned=dossiers["colleague"].pk) == ["2026-000002"]
    assert listed(assigned="me", label=dossiers["urgent"].pk) == ["2026-000001"]
    # A label of another organisation is refused, not silently ignored.
    foreign = label(other_organisation, "Urgent")
    response = agent_client.get(INBOX, {"label": foreign.pk})
    assert "label" in response.context["form"].errors
    # Each dossier shows its labels as text, not as a colour only.
    content = agent_client.get(INBOX, {"label": dossiers["urgent"].pk}).content.decode()
    assert '<span class="badge">Urgent</span>' in content
    assert '<span class="badge">Pièce manquante</span>' in content
    assert "Camille Collègue" in agent_client.get(INBOX).content.decode()


def test_filters_by_submission_dates_inclusive(agent_client, procedure, resident):
    tz = timezone.get_current_timezone()
    for number, day in (("2026-000010", date(2026, 3, 1)), ("2026-000011", date(2026, 3, 2)),
                        ("2026-000012", date(2026, 3, 3))):
        dossier = file_dossier(procedure, resident, number=number)
        Dossier.objects.filter(pk=dossier.pk).update(
            submitted_at=datetime(day.year, day.month, day.day, 23, 30, tzinfo=tz))

    def listed(**params):
        return sorted(numbers(agent_client.get(INBOX, params)))

    assert listed(submitted_from="2026-03-02") == ["2026-000011", "2026-000012"]
    assert listed(submitted_to="2026-03-02") == ["2026-000010", "2026-000011"]
    assert listed(submitted_from="2026-03-02", submitted_to="2026-03-02") == ["2026-000011"]


def test_a_reversed_date_range_is_explained_next_to_the_field_and_kept(agent_client, dossiers):
    response = agent_client.get(INBOX, {"submitted_from": "2026-05-10",
                                        "submitted_to": "2026-05-01", "deadline": "none"})
    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary"' in content
    assert "Cette date doit être postérieure ou égale à la date de début." in content
    assert 'id="id_submitted_to_error"' in content
    assert 'value="2026-05-10"' in content and 'value="2026-05-01"' in content
    # The other, valid, filters still apply.
    assert numbers(response) == ["2026-000003"]


@pytest.mark.parametrize(("sort", "expected"), [
    ("", ["5", "4", "3", "2", "1"]),
    ("-submitted", ["5", "4", "3", "2", "1"]),
    ("submitted", ["1", "2", "3", "4", "5"]),
    ("deadline", ["1", "2", "5", "4", "3"]),  # nearest first, no deadline last
    ("-deadline", ["4", "5", "2", "1", "3"]),
    ("-updated", ["1", "5", "4", "3", "2"]),
    ("number", ["1", "2", "3", "4", "5"]),
    ("-number", ["5", "4", "3", "2", "1"]),
])
def test_sorts(agent_client, dossiers, sort, expected):
    response = agent_client.get(INBOX, {"sort": sort} if sort else {})
    assert numbers(response) == [f"2026-00000{n}" for n in expected]


def test_column_headers_sort_and_say_how_with_aria_sort(agent_client, dossiers):
    label = dossiers["urgent"].pk
    content = agent_client.get(INBOX, {"label": label, "sort": "deadline"}).content.decode()
    # The sorted column says so, and its link reverses the order, filters kept.
    assert (f'<th scope="col" aria-sort="ascending"><a href="?box=services&amp;label={label}'
            f'&amp;sort=-deadline">Échéance') in content
    # The other sortable columns are not sorted; their link sorts by them.
    assert (f'<th scope="col"><a href="?box=services&amp;label={label}&amp;sort=number">'
            'Numéro') in content
    assert (f'<th scope="col"><a href="?box=services&amp;label={label}&amp;sort=-submitted">'
            'Déposé le') in content
    assert content.count("aria-sort=") == 1
    # The select shows the current sort.
    assert '<option value="deadline" selected>Échéance la plus proche</option>' in content
    default = agent_client.get(INBOX).content.decode()
    assert '<th scope="col" aria-sort="descending"><a href="?box=services&amp;sort=submitted">' \
           'Déposé le' in default


def test_deadlines_are_said_in_words_with_the_precise_date_for_screen_readers(
        agent_client, dossiers):
    content = agent_client.get(INBOX).content.decode()
    assert "<strong>Dépassée de 2 jours</strong>" in content
    assert "Dans 3 jours" in content
    dossiers["2026-000002"].refresh_from_db()
    local = timezone.localtime(dossiers["2026-000002"].deadline_at)
    assert (f'Dans 3 jours<span class="visually-hidden"> (le {local.day} ' in content)
    assert f' à {local:%H:%M})</span></time>' in content
    assert '<span class="visually-hidden">sans échéance</span>' in content


def test_deadline_words():
    now = timezone.make_aware(datetime(2026, 6, 10, 12, 0))
    at = lambda **delta: now + timedelta(**delta)  # noqa: E731
    assert deadline_status(at(hours=2), now) == ("aujourd'hui", False)
    assert deadline_status(at(days=1), now) == ("demain", False)
    assert deadline_status(at(days=3), now) == ("dans 3 jours", False)
    assert deadline_status(at(hours=-1), now) == ("dépassée aujourd'hui", True)
    assert deadline_status(at(days=-1), now) == ("dépassée de 1 jour", True)
    assert deadline_status(at(days=-2), now) == ("dépassée de 2 jours", True)


def test_pages_keep_box_filters_and_sort(agent_client, procedure, resident, agent):
    urgent = label(procedure.organisation, "Urgent")
    for n in range(30):
        dossier = file_dossier(procedure, resident, number=f"2026-{n:06d}", minutes_ago=n)
        dossier.labels.add(urgent)
        Dossier.objects.filter(pk=dossier.pk).update(deadline_at=in_days(n + 1),
                                                     assigned_to=agent)
    params = {"box": "mine", "label": urgent.pk, "sort": "-deadline", "deadline": ""}
    first = agent_client.get(INBOX, params)
    assert numbers(first) == [f"2026-{n:06d}" for n in range(29, 4, -1)]
    assert (f"?box=mine&amp;label={urgent.pk}&amp;sort=-deadline&amp;page=2"
            in first.content.decode())
    second = agent_client.get(INBOX, {**params, "page": 2})
    assert numbers(second) == [f"2026-{n:06d}" for n in range(4, -1, -1)]


def test_search_finds_words_of_the_answers_whatever_the_accents_and_case(
        client, agent, procedure, resident):
    client.force_login(resident)
    dossier, _location = start(client, procedure)
    assert post_page(client, dossier, "identite", {
        "nom": "Hélène Crémieux", "age": "42", "situation": "couple",
        "conjoint": "Bœuf"}).status_code == 302
    assert post_page(client, dossier, "contact",
                     {"courriel": "helene@example.org"}).status_code == 302
    assert client.post(reverse("procedures:review", args=[dossier.pk])).status_code == 302
    dossier.refresh_from_db()
    assert dossier.number and "helene cremieux" in dossier.search_text
    assert "boeuf" in dossier.search_text and "en couple" in dossier.search_text
    assert dossier.number in dossier.search_text

    client.force_login(agent)

    def listed(q):
        return numbers(client.get(INBOX, {"q": q}))

    assert listed("CRÉMIEUX helene") == [dossier.number]
    assert listed("boeuf") == [dossier.number]
    assert listed("bœuf en couple") == [dossier.number]
    assert listed("crémieux xylophone") == []  # every word must match (none is random)


def test_reindex_fills_the_search_text_of_dossiers_filed_before_it(
        agent_client, procedure, resident):
    dossier = file_dossier(procedure, resident, number="2026-000077",
                           data={**{"nom": "Zoé Lefèvre", "age": 30, "situation": "seul",
                                    "courriel": "z@example.org"}}, indexed=False)
    assert dossier.search_text == ""
    assert numbers(agent_client.get(INBOX, {"q": "zoe"})) == []
    call_command("procedures", "reindex", "--organisation", procedure.organisation.slug)
    dossier.refresh_from_db()
    assert "zoe lefevre" in dossier.search_text
    assert numbers(agent_client.get(INBOX, {"q": "LEFÈVRE"})) == ["2026-000077"]


def test_update_search_text_keeps_the_lock_version(procedure, organisation):
    applicant = UserFactory(organisation=organisation, first_name="Éric", last_name="Ñandú",
                            email="eric@example.org")
    dossier = file_dossier(procedure, applicant, number="2026-000088")
    before = dossier.lock_version
    text = update_search_text(dossier)
    dossier.refresh_from_db()
    assert dossier.search_text == text
    assert "eric nandu" in text and "eric@example.org" in text and "2026-000088" in text
    assert dossier.lock_version == before
