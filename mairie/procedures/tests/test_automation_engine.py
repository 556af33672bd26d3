"""Automation (issue 4): reminders and escalation, silence vaut accord / refus, routing on
submission and automatic transitions on each event — as a user of the dossier notices them
(state, assignment, timeline text, notifications, e-mails, audit)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.notifications.models import Notification
from mairie.core.organisation.models import Role
from mairie.procedures import automation, processing
from mairie.procedures.events import describe
from mairie.procedures.models import AutomationNotice, Dossier, DossierEvent
from mairie.procedures.tasks_automation import run_deadlines

from .automation_helpers import (
    automate,
    in_instruction,
    make_civil_procedure,
    submit,
)

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def civil(organisation, service, administrator):
    return make_civil_procedure(organisation, service, actor=administrator)


@pytest.fixture
def manager(service):
    return agent_factory(service=service, role=Role.MANAGER, email="chef@valmont.example")


def notifications(user, kind):
    return list(Notification.objects.filter(recipient=user, kind=kind).order_by("created_at"))


# --- Reminders and escalation --------------------------------------------------------------

def test_reminders_go_to_the_assignee_three_days_before_and_on_the_day_once(
        civil, resident, agent):
    automate(civil, reminder_days=[3, 0])
    dossier = in_instruction(submit(civil, resident), days_left=2.5, assigned_to=agent)
    run_deadlines.delay()
    run_deadlines.delay()  # the next hour: nothing new
    sent = notifications(agent, automation.KIND_REMINDER)
    assert len(sent) == 1
    assert "Échéance dans" in sent[0].title and dossier.number in sent[0].title

    # On the day of the deadline: the "on the day" reminder, once. The pass runs at local
    # noon, so that "in 30 minutes" is still today whatever the hour the test runs at.
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    Dossier.objects.filter(pk=dossier.pk).update(deadline_at=noon + timedelta(minutes=30))
    automation.run_deadlines(now=noon)
    automation.run_deadlines(now=noon)
    titles = [n.title for n in notifications(agent, automation.KIND_REMINDER)]
    assert len(titles) == 2 and titles[1].startswith("Échéance aujourd'hui")


def test_no_reminder_without_assignee_nor_when_disabled(civil, resident, agent):
    in_instruction(submit(civil, resident), days_left=1)  # nobody holds it
    automate(civil, reminder_days=[])
    in_instruction(submit(civil, resident, nom="Durand"), days_left=1, assigned_to=agent)
    assert automation.run_deadlines()["reminders"] == 0
    assert not notifications(agent, automation.KIND_REMINDER)


def test_an_overdue_dossier_alerts_the_managers_of_the_owning_service_once(
        civil, resident, agent, manager, other_service):
    foreign_manager = agent_factory(service=other_service, role=Role.MANAGER)
    dossier = in_instruction(submit(civil, resident), days_left=-0.1, assigned_to=agent)
    first = automation.run_deadlines()
    second = automation.run_deadlines()
    assert first["escalations"] == 1 and second["escalations"] == 0
    alerts = notifications(manager, automation.KIND_OVERDUE)
    assert len(alerts) == 1 and dossier.number in alerts[0].title
    assert agent.email in alerts[0].body or agent.get_full_name() in alerts[0].body
    assert not notifications(foreign_manager, automation.KIND_OVERDUE)
    assert not notifications(agent, automation.KIND_OVERDUE)

    # A new deadline in the same state (e.g. extended) is a new step: alerted again.
    Dossier.objects.filter(pk=dossier.pk).update(deadline_at=timezone.now() - timedelta(hours=1))
    assert automation.run_deadlines()["escalations"] == 1


# --- Silence vaut accord / refus ------------------------------------------------------------

def test_silence_vaut_accord_moves_the_dossier_tells_the_applicant_and_says_why(
        civil, resident, manager):
    automate(civil, silence_rules=[{"state": "instruction", "kind": "accord",
                                    "decision": "accepte"}])
    dossier = in_instruction(submit(civil, resident), days_left=-0.01)
    deadline = timezone.localtime(dossier.deadline_at).strftime("%d/%m/%Y")
    counts = automation.run_deadlines()
    assert counts["silences"] == 1 and counts["escalations"] == 0
    dossier.refresh_from_db()
    assert dossier.state == "accepte" and dossier.decided_at is not None

    event = DossierEvent.objects.filter(dossier=dossier, kind="state_entered").get()
    assert event.actor is None and event.public
    assert event.details["system"] is True and event.details["rule"] == "Silence vaut accord"
    text = describe(event)
    assert text.startswith(f"Silence vaut accord : délai de 2 mois dépassé le {deadline}")
    assert "Accepté" in text and "par le système" in text

    told = notifications(resident, "procedures.dossier_update")
    assert told[-1].title == f"Votre dossier n° {dossier.number} : Demande acceptée"
    assert "Silence vaut accord" in told[-1].body
    audit = AuditEvent.objects.filter(action="procedures.state_entered").latest("created_at")
    assert audit.actor is None and audit.details["system"] is True
    assert audit.details["reason"] == "silence_accord"
    # Run again: nothing moves, nothing is sent twice.
    assert automation.run_deadlines() == {"reminders": 0, "escalations": 0, "silences": 0,
                                          "rules": 0, "errors": 0}
    assert len(notifications(resident, "procedures.dossier_update")) == len(told)


def test_silence_vaut_refus_for_an_anonymous_applicant_sends_the_email(
        civil, resident, mailoutbox, django_capture_on_commit_callbacks):
    automate(civil, silence_rules=[{"state": "instruction", "kind": "refus",
                                    "decision": "refuse"}])
    dossier = in_instruction(submit(civil, resident), days_left=-1)
    Dossier.objects.filter(pk=dossier.pk).update(applicant=None,
                                                 applicant_email="anonyme@example.org")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        automation.run_deadlines()
    dossier.refresh_from_db()
    assert dossier.state == "refuse"
    event = DossierEvent.objects.get(dossier=dossier, kind="state_entered")
    assert describe(event).startswith("Silence vaut refus : délai de 2 mois dépassé le")
    sent = [m for m in mail.outbox if m.to == ["anonyme@example.org"]]
    assert len(sent) == 1
    assert sent[0].subject == f"Votre dossier n° {dossier.number} : Demande refusée"
    assert "Motif : Silence vaut refus : délai de 2 mois dépassé le" in sent[0].body
    assert f"/suivi/{dossier.tracking_code}/" in sent[0].body


def test_silence_ignores_dossiers_not_yet_overdue_or_in_another_state(civil, resident):
    automate(civil, silence_rules=[{"state": "instruction", "kind": "accord",
                                    "decision": "accepte"}])
    waiting = in_instruction(submit(civil, resident), days_left=3)
    other = in_instruction(submit(civil, resident, nom="Autre"), days_left=-1)
    Dossier.objects.filter(pk=other.pk).update(state="a_completer")
    automation.run_deadlines()
    assert set(Dossier.objects.filter(pk__in=[waiting.pk, other.pk])
               .values_list("state", flat=True)) == {"instruction", "a_completer"}


# --- Routing -------------------------------------------------------------------------------

def test_routing_by_category_first_matching_rule_wins(
        civil, resident, agent, other_service):
    automate(civil, routing_rules=[
        {"label": "Mariages à l'urbanisme", "condition": 'categorie == "mariage"',
         "service": str(other_service.pk), "agent": ""},
        {"label": "Naissances à Camille", "condition": 'categorie == "naissance"',
         "service": "", "agent": str(agent.pk)},
        {"label": "Tout le reste", "condition": "", "service": str(other_service.pk),
         "agent": ""},
    ])
    birth = submit(civil, resident, categorie="naissance")
    wedding = submit(civil, resident, categorie="mariage")
    assert (birth.assigned_to, birth.assigned_service) == (agent, None)
    assert (wedding.assigned_to, wedding.assigned_service) == (None, other_service)
    event = DossierEvent.objects.get(dossier=birth, kind="assigned")
    assert event.actor is None and not event.public
    assert describe(event) == ("Dossier attribué à " + (agent.get_full_name() or agent.email)
                               + " — par le système (règle « Naissances à Camille »)")
    audit = AuditEvent.objects.get(action="procedures.dossier_routed", object_id=str(birth.pk))
    assert audit.actor is None and audit.details["rule"] == "Naissances à Camille"
    assert notifications(agent, processing.KIND_ASSIGNED)[0].title.endswith("vous est attribué")


# --- Automatic transitions ------------------------------------------------------------------

def test_auto_accept_on_submission_when_the_condition_holds(civil, resident):
    automate(civil, transition_rules=[
        {"label": "Acte de naissance automatique", "event": "submitted",
         "condition": 'categorie == "naissance"', "transition": "accepter"}])
    accepted = submit(civil, resident, categorie="naissance")
    kept = submit(civil, resident, categorie="mariage")
    assert accepted.state == "accepte" and kept.state == "depose"
    event = DossierEvent.objects.get(dossier=accepted, kind="transition")
    assert event.actor is None and event.details["system"] is True
    assert describe(event).endswith("par le système (règle « Acte de naissance automatique »)")
    audit = AuditEvent.objects.get(action="procedures.transition_applied",
                                   object_id=str(accepted.pk))
    assert audit.actor is None and audit.details["rule"] == "Acte de naissance automatique"
    # The transition's own "notify" action told the applicant.
    assert notifications(resident, "procedures.dossier_update")[-1].title.endswith(
        "Demande acceptée")


def test_an_automatic_acceptance_generates_the_decision_letter_for_the_applicant(
        civil, resident, client):
    """A rule may take a transition that writes a document: the PDF is produced by the system,
    the timeline says which rule did it, and the applicant can download it."""
    from mairie.procedures.models import DossierDocument
    from mairie.procedures.workflow import documents_visible_to_applicant

    workflow = civil.current_version.workflow
    workflow.documents = {"lettre": {"title": "Lettre de décision", "body": (
        "Dossier N° {{ dossier.number }} : {{ data.categorie }}.\n\nDécision : {{ state }}.")}}
    accept = next(t for t in workflow.transitions if t["key"] == "accepter")
    accept["actions"] = [{"type": "document", "template": "lettre",
                          "visible_to_applicant": True}, "notify"]
    workflow.save()
    automate(civil, transition_rules=[
        {"label": "Acte de naissance automatique", "event": "submitted",
         "condition": 'categorie == "naissance"', "transition": "accepter"}])
    dossier = submit(civil, resident, categorie="naissance")
    assert dossier.state == "accepte"
    letter = DossierDocument.objects.get(dossier=dossier, template_key="lettre")
    assert list(documents_visible_to_applicant(dossier)) == [letter]
    with letter.stored_file.file.open("rb") as handle:
        text = " ".join(page.extract_text() for page in PdfReader(handle).pages)
    assert f"Dossier N° {dossier.number} : Acte de naissance." in text
    assert "Décision : Demande acceptée." in text
    event = DossierEvent.objects.get(dossier=dossier, kind="document")
    assert event.actor is None and event.public
    assert describe(event) == ("Document disponible : Lettre de décision — par le système "
                               "(règle « Acte de naissance automatique »)")
    client.force_login(resident)
    response = client.get(reverse("files:download", args=[letter.stored_file_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_auto_transition_when_a_correction_is_answered(civil, resident, agent):
    automate(civil, transition_rules=[
        {"label": "Retour en instruction acceptée", "event": "correction_answered",
         "condition": 'nom == "Corrigé"', "transition": "accepter"}])
    dossier = in_instruction(submit(civil, resident), days_left=10)
    correction = processing.request_correction(
        actor=agent, dossier=dossier, fields=["nom"], message="Votre nom complet ?",
        return_state="instruction")
    dossier.refresh_from_db()
    form = processing.correction_form(correction, data=QueryDict("nom=Corrig%C3%A9"),
                                      user=resident)
    moved = processing.answer_correction(actor=resident, correction=correction, form=form,
                                         lock_version=dossier.lock_version)
    assert moved.state == "accepte"
    kinds = list(DossierEvent.objects.filter(dossier=dossier).values_list("kind", flat=True))
    assert kinds[-2:] == ["state_entered", "transition"]


def test_auto_transition_when_an_opinion_is_answered(civil, resident, agent, other_service):
    expert = agent_factory(service=other_service, email="expert@valmont.example")
    automate(civil, transition_rules=[
        {"label": "Avis reçu : on instruit", "event": "opinion_answered", "condition": "",
         "transition": "instruire"}])
    dossier = submit(civil, resident)
    opinion = processing.request_opinion(actor=agent, dossier=dossier, service=other_service,
                                         question="Un avis ?")
    processing.answer_opinion(actor=expert, opinion=opinion, answer="Favorable.")
    dossier.refresh_from_db()
    assert dossier.state == "instruction" and dossier.deadline_at is not None


def test_auto_transition_when_the_deadline_passes_then_no_escalation(
        civil, resident, agent, manager):
    automate(civil, transition_rules=[
        {"label": "Échéance : acceptation", "event": "deadline_passed",
         "condition": 'categorie == "naissance"', "transition": "accepter"}])
    birth = in_instruction(submit(civil, resident), days_left=-1, assigned_to=agent)
    wedding = in_instruction(submit(civil, resident, categorie="mariage"), days_left=-1)
    counts = automation.run_deadlines()
    assert counts["rules"] == 1 and counts["escalations"] == 1
    birth.refresh_from_db()
    wedding.refresh_from_db()
    assert birth.state == "accepte" and wedding.state == "instruction"
    assert [n.title for n in notifications(manager, automation.KIND_OVERDUE)] == [
        f"Dossier en retard : n° {wedding.number}"]
    assert automation.run_deadlines()["rules"] == 0
    assert AutomationNotice.objects.filter(dossier=wedding, kind="deadline_rules").count() == 1


def test_a_rule_whose_guard_fails_leaves_the_submission_alone(civil, resident):
    transitions = civil.current_version.workflow.transitions
    transitions[1]["guard"] = 'nom == "Personne"'
    civil.current_version.workflow.save()
    automate(civil, transition_rules=[
        {"label": "Refusée par la garde", "event": "submitted", "condition": "",
         "transition": "accepter"}])
    dossier = submit(civil, resident)
    assert dossier.state == "depose" and dossier.number


# --- Settings are checked -------------------------------------------------------------------

def test_invalid_expressions_states_and_transitions_are_refused_in_french(civil):
    errors = automation.validate_settings(
        definition=civil, reminder_days=[3, -1],
        silence_rules=[{"state": "depose", "kind": "accord", "decision": "instruction"}],
        routing_rules=[{"label": "Cassée", "condition": "categorie ==", "service": "",
                        "agent": ""}],
        transition_rules=[{"label": "Inconnue", "event": "submitted", "condition": "age > 3",
                           "transition": "refuser"}])
    text = "\n".join(errors)
    assert "entre 0 et 365" in text
    assert "n'a pas de délai" in text and "état final" in text
    assert "Attribution « Cassée » : condition incorrecte : Syntaxe incorrecte" in text
    assert "choisissez un service, un agent ou les deux" in text
    assert "« age »" in text  # not a field of the form
    assert "le système ne peut pas franchir « Refuser »" in text


def test_two_workers_at_once_do_not_send_twice(civil, resident, agent):
    """The claim is a unique row: a second pass that read the same dossiers before the first
    one wrote anything still finds the reminder taken."""
    dossier = in_instruction(submit(civil, resident), days_left=0.2, assigned_to=agent)
    # The reminder due: "today" (offset 0), or "in 3 days" when the deadline falls after
    # midnight, local time (the pass counts days in the local calendar).
    left = (timezone.localdate(dossier.deadline_at) - timezone.localdate()).days
    offset = min(day for day in automation.DEFAULT_REMINDERS if left <= day)
    assert automation._claim(dossier, AutomationNotice.Kind.REMINDER, offset=offset)
    assert not automation._claim(dossier, AutomationNotice.Kind.REMINDER, offset=offset)
    automation.run_deadlines()
    assert not notifications(agent, automation.KIND_REMINDER)


def test_many_dossiers_falling_due_at_once_are_decided_in_chunks_with_a_bounded_cost(
        civil, resident, monkeypatch, django_assert_max_num_queries):
    """Thousands of dossiers of an emergency plan fall due in the same hour: the pass decides
    them a chunk at a time (`automation._silence_chunk`), each once, with its timeline, its
    audit entry and its applicant's notification, for a number of queries that does not grow
    with the dossiers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mairie.core.audit.services import verify_chain

    automate(civil, silence_rules=[{"state": "instruction", "kind": "accord",
                                    "decision": "accepte"}], reminder_days=[])
    monkeypatch.setattr(automation, "SILENCE_CHUNK", 10)

    def due(count):
        return [in_instruction(submit(civil, resident, nom=f"Nom {n}"), days_left=-0.01)
                for n in range(count)]

    small = due(10)
    with CaptureQueriesContext(connection) as few:
        assert automation.run_deadlines()["silences"] == 10
    large = due(20)
    with django_assert_max_num_queries(2 * len(few)):  # two chunks, as many queries each
        assert automation.run_deadlines()["silences"] == 20
    decided = [*small, *large]
    assert Dossier.objects.filter(pk__in=[d.pk for d in decided], state="accepte").count() == 30
    entered = DossierEvent.objects.filter(dossier__in=decided, kind="state_entered")
    assert entered.count() == 30 and all(e.details["rule"] == "Silence vaut accord"
                                         for e in entered)
    assert AuditEvent.objects.filter(action="procedures.state_entered",
                                     details__reason="silence_accord").count() == 30
    told = notifications(resident, "procedures.dossier_update")
    assert sum("Demande acceptée" in n.title for n in told) == 30
    assert verify_chain(civil.organisation) is None
    assert automation.run_deadlines()["silences"] == 0  # nothing twice
