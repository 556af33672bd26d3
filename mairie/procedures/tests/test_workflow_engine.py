"""The workflow engine as services: who may take which transition, guards, required fields,
optimistic locking, each action type, and the three-level validation chain ending with the
mayor's signature on a decision letter that names every signatory."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from pypdf import PdfReader

from mairie.core.audit.models import AuditEvent
from mairie.core.notifications.models import Notification
from mairie.procedures import workflow
from mairie.procedures.models import (
    CorrectionRequest,
    DossierDocument,
    DossierEvent,
    DossierValidation,
    OpinionRequest,
)
from mairie.procedures.services import StaleDossier

from .workflow_helpers import Chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(organisation, service, administrator):
    return Chain(organisation, service, administrator)


def take(actor, dossier, key, values=None):
    dossier.refresh_from_db()
    return workflow.apply_transition(actor=actor, dossier=dossier, key=key,
                                     values=values or {}, lock_version=dossier.lock_version)


def keys(available):
    return [a.key for a in available]


def pdf_text(document):
    with document.stored_file.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(page.extract_text() for page in reader.pages)


def test_each_role_sees_only_its_transitions(chain, resident, other_service):
    from mairie.core.factories import agent_factory

    dossier = chain.dossier(resident)
    assert keys(workflow.transitions_for(chain.instructor, dossier)) == ["prendre", "refuser"]
    assert keys(workflow.transitions_for(resident, dossier)) == ["retirer"]
    assert workflow.transitions_for(chain.dgs, dossier) == []
    assert workflow.transitions_for(chain.mayor, dossier) == []
    stranger = agent_factory(service=other_service)
    assert workflow.transitions_for(stranger, dossier) == []


def test_a_failing_guard_shows_the_button_disabled_with_its_reason(chain, resident):
    minor = chain.dossier(resident, state="instruction",
                          data={"nom": "Petit", "age": 12, "situation": "seul"})
    proposer = next(a for a in workflow.transitions_for(chain.instructor, minor)
                    if a.key == "proposer")
    assert not proposer.allowed
    assert proposer.reason == "Réservé aux demandeurs majeurs."
    with pytest.raises(workflow.TransitionRefused, match="majeurs"):
        take(chain.instructor, minor, "proposer")
    minor.refresh_from_db()
    assert minor.state == "instruction"

    adult = chain.dossier(resident, number="2026-000043", state="instruction")
    assert next(a for a in workflow.transitions_for(chain.instructor, adult)
                if a.key == "proposer").allowed


def test_someone_without_the_role_is_refused(chain, resident, agent):
    dossier = chain.dossier(resident)
    for actor in (chain.dgs, chain.mayor, resident):
        with pytest.raises(PermissionDenied):
            take(actor, dossier, "prendre")
    with pytest.raises(PermissionDenied):
        take(agent, dossier, "retirer")  # the applicant's transition
    dossier.refresh_from_db()
    assert dossier.state == "depose"


def test_an_agent_of_another_organisation_is_refused(chain, resident, foreign_agent):
    dossier = chain.dossier(resident)
    with pytest.raises(PermissionDenied):
        take(foreign_agent, dossier, "prendre")


def test_a_transition_from_another_state_is_refused(chain, resident):
    dossier = chain.dossier(resident)
    with pytest.raises(workflow.TransitionRefused, match="n'est pas possible depuis"):
        take(chain.instructor, dossier, "proposer")
    with pytest.raises(workflow.TransitionRefused, match="n'existe pas"):
        take(chain.instructor, dossier, "inconnue")


def test_required_fields_are_checked_and_nothing_moves(chain, resident):
    dossier = chain.dossier(resident)
    with pytest.raises(workflow.TransitionRefused) as refused:
        take(chain.instructor, dossier, "refuser", {"motivation": "   "})
    assert refused.value.form.errors["motivation"] == [
        "« Motivation » est obligatoire pour franchir cette étape."]
    dossier.refresh_from_db()
    assert dossier.state == "depose" and dossier.lock_version == 0


def test_a_stale_lock_version_applies_nothing(chain, resident):
    dossier = chain.dossier(resident)
    take(chain.instructor, dossier, "prendre")
    with pytest.raises(StaleDossier) as stale:
        workflow.apply_transition(actor=chain.instructor, dossier=dossier, key="refuser",
                                  values={"motivation": "Hors délai"}, lock_version=0)
    assert stale.value.dossier.state == "instruction"
    dossier.refresh_from_db()
    assert dossier.state == "instruction"
    assert dossier.processing_data == {}


def test_taking_a_transition_moves_records_and_audits(chain, resident):
    dossier = chain.dossier(resident)
    moved = take(chain.instructor, dossier, "prendre")
    assert moved.state == "instruction"
    assert moved.lock_version == 1
    assert moved.state_entered_at is not None
    # assign self, then a 30 days deadline, in this order
    assert moved.assigned_to == chain.instructor
    assert timedelta(days=29) < moved.deadline_at - timezone.now() <= timedelta(days=30)
    event = DossierEvent.objects.get(dossier=dossier, kind="transition")
    assert event.public and event.actor == chain.instructor
    assert event.details["from"] == "depose" and event.details["to_label"] == "En instruction"
    audit = AuditEvent.objects.get(action="procedures.transition_applied",
                                   object_id=str(dossier.pk))
    assert audit.details["transition"] == "prendre"
    assert audit.details["actions"] == ["assign", "deadline"]


def test_a_state_with_a_deadline_sets_it_and_a_final_state_records_the_decision(chain,
                                                                                 resident):
    dossier = chain.dossier(resident, state="validation_chef")
    moved = take(chain.head, dossier, "valider-chef", {"comment": "Bien instruit"})
    assert moved.state == "validation_dgs"
    assert timedelta(days=4) < moved.deadline_at - timezone.now() <= timedelta(days=5)
    moved = take(chain.dgs, moved, "valider-dgs")
    assert moved.deadline_at is None and moved.decided_at is None
    moved = take(chain.mayor, moved, "signer")
    assert moved.decided_at is not None and moved.state == "accorde"


def test_notify_the_applicant_with_an_account_in_app(chain, resident):
    dossier = chain.dossier(resident)
    take(chain.instructor, dossier, "refuser", {"motivation": "Pièces manquantes"})
    note = Notification.objects.get(recipient=resident, kind=workflow.NOTIFICATION_KIND)
    assert note.title == "Votre dossier n° 2026-000042 : Refusé"
    assert note.body == "Pièces manquantes"


def test_notify_an_anonymous_applicant_by_email_with_the_tracking_link(
        chain, mailoutbox, django_capture_on_commit_callbacks):
    dossier = chain.dossier(None, email="anonyme@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        take(chain.instructor, dossier, "refuser", {"motivation": "Hors de la commune"})
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["anonyme@example.org"]
    assert mail.subject == "Votre dossier n° 2026-000042 : Refusé"
    assert f"/suivi/{dossier.tracking_code}/" in mail.body
    assert "Motif : Hors de la commune" in mail.body


def test_notify_the_agents_of_a_role(chain, resident):
    dossier = chain.dossier(resident, state="validation_chef")
    take(chain.head, dossier, "valider-chef", {"comment": "OK"})
    recipients = set(Notification.objects.filter(kind=workflow.AGENT_NOTIFICATION_KIND)
                     .values_list("recipient__email", flat=True))
    assert recipients == {"dgs@valmont.example"}


def test_request_correction_goes_through_processing(chain, resident):
    dossier = chain.dossier(resident, state="instruction")
    with pytest.raises(workflow.TransitionRefused) as refused:
        take(chain.instructor, dossier, "demander-pieces", {"correction_message": "x"})
    assert "correction_fields" in refused.value.form.errors
    moved = take(chain.instructor, dossier, "demander-pieces",
                 {"correction_fields": ["age"], "correction_message": "Âge à vérifier"})
    assert moved.state == "attente"
    correction = CorrectionRequest.objects.get(dossier=dossier)
    assert correction.fields == ["age"]
    assert correction.message == "Âge à vérifier"
    assert correction.return_state == "instruction"


def test_enter_state_moves_without_a_transition(chain, resident):
    dossier = chain.dossier(resident, state="attente")
    moved = workflow.enter_state(actor=resident, dossier=dossier, state="instruction",
                                 reason="correction_answered")
    assert moved.state == "instruction" and moved.lock_version == 1
    event = DossierEvent.objects.get(dossier=dossier, kind="state_entered")
    assert event.details["reason"] == "correction_answered"
    assert AuditEvent.objects.filter(action="procedures.state_entered").exists()


def test_request_opinion_goes_through_processing(chain, resident, other_service):
    dossier = chain.dossier(resident, state="instruction")
    moved = take(chain.instructor, dossier, "avis",
                 {"opinion_service": str(other_service.pk),
                  "opinion_question": "Le terrain est-il constructible ?"})
    assert moved.state == "instruction"
    opinion = OpinionRequest.objects.get(dossier=dossier)
    assert opinion.service == other_service
    assert opinion.question == "Le terrain est-il constructible ?"
    assert not DossierEvent.objects.get(dossier=dossier, kind="transition").public


def test_a_refusal_from_processing_keeps_the_form_and_moves_nothing(chain, resident, service):
    dossier = chain.dossier(resident, state="instruction")
    with pytest.raises(workflow.TransitionRefused) as refused:
        take(chain.instructor, dossier, "avis",
             {"opinion_service": str(service.pk), "opinion_question": "Mon propre avis ?"})
    assert "propre avis" in " ".join(refused.value.form.non_field_errors())
    dossier.refresh_from_db()
    assert dossier.lock_version == 0 and not OpinionRequest.objects.exists()


def test_the_assign_action_to_a_role_and_to_nobody(organisation, chain, resident):
    workflow_row = chain.workflow
    transitions = [*workflow_row.transitions,
                   {"key": "au-dgs", "label": "Au DGS", "from": "instruction",
                    "to": "instruction", "role": "instructor",
                    "actions": [{"type": "assign", "to": "role:dgs"}]},
                   {"key": "liberer", "label": "Libérer", "from": "instruction",
                    "to": "instruction", "role": "instructor",
                    "actions": [{"type": "assign", "to": "none"}]}]
    type(workflow_row).objects.filter(pk=workflow_row.pk).update(transitions=transitions)
    dossier = chain.dossier(resident)
    moved = take(chain.instructor, dossier, "prendre")
    moved = take(chain.instructor, moved, "au-dgs")
    assert moved.assigned_service == chain.direction and moved.assigned_to is None
    moved = take(chain.instructor, moved, "liberer")
    assert moved.assigned_service is None and moved.assigned_to is None


def test_the_three_level_chain_ends_with_a_signed_decision_letter(chain, resident):
    dossier = chain.dossier(resident)
    dossier = take(chain.instructor, dossier, "prendre")
    dossier = take(chain.instructor, dossier, "proposer", {"comment": "Dossier complet"})
    # the head sends it back once: the first approval no longer counts
    dossier = take(chain.head, dossier, "renvoyer-chef", {"motivation": "Vérifier l'âge"})
    assert dossier.state == "instruction"
    dossier = take(chain.instructor, dossier, "proposer", {"comment": "Âge vérifié"})
    dossier = take(chain.head, dossier, "valider-chef", {"comment": "Bon pour accord"})
    dossier = take(chain.dgs, dossier, "valider-dgs")
    dossier = take(chain.mayor, dossier, "signer")
    assert dossier.state == "accorde"

    steps = list(DossierValidation.objects.filter(dossier=dossier).order_by("at"))
    assert [(v.actor_name, v.decision, v.step_label) for v in steps] == [
        ("Inès Tructrice", "approved", "En instruction"),
        ("Charles Chef", "rejected", "Validation du chef de service"),
        ("Inès Tructrice", "approved", "En instruction"),
        ("Charles Chef", "approved", "Validation du chef de service"),
        ("Denise Générale", "approved", "Validation du DGS"),
        ("Marc Maire", "approved", "Signature du maire"),
    ]
    assert steps[1].comment == "Vérifier l'âge"
    assert steps[3].actor_title == "Chef du service instructeur"  # the role's label
    assert steps[4].actor_title == "Direction (DGS, secrétaire communal), Direction générale"
    assert steps[5].actor_title == "Le maire" and steps[5].signature

    letter = DossierDocument.objects.get(dossier=dossier, template_key="lettre_decision")
    assert letter.visible_to_applicant
    assert letter.stored_file.content_type == "application/pdf"
    text = pdf_text(letter)
    for expected in ("Commune de Valmont-Test", "Lettre de décision", "2026-000042",
                     "Aide à valider", "est accordée", "Situation déclarée : En couple",
                     resident.get_full_name(), "Validations et signatures",
                     "Inès Tructrice", "Charles Chef", "Denise Générale", "Marc Maire",
                     "Le maire", "signé"):
        assert expected in text, expected
    assert text.count("Inès Tructrice") == 1  # the approval before the return is not listed
    note = DossierDocument.objects.get(dossier=dossier, template_key="note_interne")
    assert not note.visible_to_applicant
    assert list(workflow.documents_visible_to_applicant(dossier)) == [letter]
    events = DossierEvent.objects.filter(dossier=dossier, kind="document")
    assert sorted(e.public for e in events) == [False, True]


def test_the_refusal_letter_quotes_the_motivation(chain, resident):
    dossier = chain.dossier(resident)
    take(chain.instructor, dossier, "refuser", {"motivation": "Revenus trop élevés"})
    letter = DossierDocument.objects.get(dossier=dossier)
    assert "Motif : Revenus trop élevés" in pdf_text(letter)
    assert letter.stored_file.purpose == "procedures.document"


def test_the_applicant_withdraws(chain, resident):
    dossier = chain.dossier(resident)
    moved = take(resident, dossier, "retirer", {"comment": "Je n'en ai plus besoin"})
    assert moved.state == "retire" and moved.decided_at is not None
    assert moved.processing_data == {"comment": "Je n'en ai plus besoin"}
    assert Notification.objects.filter(kind=workflow.AGENT_NOTIFICATION_KIND,
                                       recipient=chain.instructor).exists()
    assert workflow.transitions_for(resident, moved) == []


def test_another_resident_cannot_withdraw(chain, resident, other_resident):
    dossier = chain.dossier(resident)
    assert workflow.transitions_for(other_resident, dossier) == []
    with pytest.raises(PermissionDenied):
        take(other_resident, dossier, "retirer")
