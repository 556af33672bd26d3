"""The retention job: identity documents right after the decision, then deletion or
anonymisation once the procedure's period is over; audited as done by the system, idempotent,
batched, and blind to other procedures and organisations."""

import datetime
import json

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from mairie.core.audit.models import AuditEvent
from mairie.core.files.models import StoredFile
from mairie.procedures import retention
from mairie.procedures.models import (
    Dossier,
    DossierAnnotation,
    DossierEvent,
    DossierFile,
    DossierMessage,
)
from mairie.procedures.tasks_retention import apply_retention as retention_task

from .retention_helpers import (
    decided_dossier,
    file_rows_of,
    make_retention_procedure,
    set_policy,
)

DAY = 1
MONTHS_13 = 400  # days: past a 12-month period
MONTHS_11 = 330


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIRIE_CLAMD_URL = ""


@pytest.fixture
def definition(organisation, service, administrator):
    return make_retention_procedure(organisation, service, actor=administrator)


def _stored_names(ids):
    return list(StoredFile.objects.filter(pk__in=ids).values_list("file", flat=True))


def _audit(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _no_personal_data(events):
    text = json.dumps([[e.object_label, e.details] for e in events], ensure_ascii=False)
    assert "Martin" not in text and "habitant@example.org" not in text
    assert "06 12" not in text


def test_months_are_calendar_months():
    moment = datetime.datetime(2026, 3, 31, 12, tzinfo=datetime.UTC)
    assert retention.months_before(moment, 1) == datetime.datetime(2026, 2, 28, 12,
                                                                   tzinfo=datetime.UTC)
    assert retention.months_before(moment, 14).date() == datetime.date(2025, 1, 31)


def test_identity_documents_go_right_after_the_decision_and_only_then(
        definition, resident, django_capture_on_commit_callbacks):
    set_policy(definition, months=None)  # no period: only the identity documents go
    decided = decided_dossier(definition, resident, number="2026-000001", days_ago=DAY)
    pending = decided_dossier(definition, resident, number="2026-000002", days_ago=None)
    identity = DossierFile.objects.get(dossier=decided, field_key="piece_identite")
    identity_file, name = identity.stored_file_id, identity.stored_file.file.name
    proof = DossierFile.objects.get(dossier=decided, field_key="justificatif").stored_file
    assert default_storage.exists(name)
    pending_files = file_rows_of(pending)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = retention.apply_retention()

    assert outcomes[0].identity_files == 1 and outcomes[0].identity_dossiers == ["2026-000001"]
    assert not StoredFile.objects.filter(pk=identity_file).exists()
    assert not default_storage.exists(name)  # the bytes too
    decided.refresh_from_db()
    assert "piece_identite" not in decided.data and decided.data["justificatif"] == str(proof.pk)
    assert decided.data["nom"] == "Martin Secret"  # nothing else is touched
    assert DossierFile.objects.filter(dossier=decided, field_key="justificatif").exists()
    assert default_storage.exists(proof.file.name)
    # The undecided dossier keeps everything.
    assert file_rows_of(pending) == pending_files
    assert StoredFile.objects.filter(pk__in=pending_files).count() == 3
    # The timeline and the audit log say the system did it, without personal data.
    event = decided.events.get(kind=retention.IDENTITY_DELETED)
    assert event.actor is None and event.public
    assert event.details == {"system": True, "rule": "retention",
                             "fields": ["Pièce d'identité"]}
    (audited,) = _audit("procedures.identity_documents_deleted")
    assert audited.actor is None and audited.actor_label == "système"
    assert audited.object_label == "2026-000001"
    assert audited.details["system"] is True and audited.details["files"] == 1
    _no_personal_data([audited])
    (file_deleted,) = _audit("files.deleted")
    assert file_deleted.actor is None and file_deleted.object_id == str(identity_file)


def test_deletion_removes_the_dossier_and_everything_attached(
        definition, resident, django_capture_on_commit_callbacks):
    set_policy(definition, months=12, mode="delete")
    old = decided_dossier(definition, resident, number="2026-000001", days_ago=MONTHS_13)
    recent = decided_dossier(definition, resident, number="2026-000002", days_ago=MONTHS_11)
    pending = decided_dossier(definition, resident, number="2026-000003", days_ago=None)
    old_files = file_rows_of(old)
    names = _stored_names(old_files)

    with django_capture_on_commit_callbacks(execute=True):
        outcome, = retention.apply_retention()

    assert outcome.expired == ["2026-000001"]
    assert not Dossier.objects.filter(pk=old.pk).exists()
    assert not DossierMessage.objects.filter(dossier_id=old.pk).exists()
    assert not DossierEvent.objects.filter(dossier_id=old.pk).exists()
    assert not StoredFile.objects.filter(pk__in=old_files).exists()
    assert not any(default_storage.exists(name) for name in names)
    # Within the period: only the identity document went; not decided: untouched.
    assert set(Dossier.objects.values_list("number", flat=True)) == {"2026-000002",
                                                                     "2026-000003"}
    assert not DossierFile.objects.filter(dossier=recent, field_key="piece_identite").exists()
    assert len(file_rows_of(pending)) == 3
    (audited,) = _audit("procedures.dossier_deleted")
    assert audited.actor is None and audited.object_id == str(old.pk)
    assert audited.object_label == "2026-000001"
    assert audited.details["system"] is True and audited.details["rule"] == "retention"
    # The identity document went first, as for any decided dossier: two files were left.
    assert audited.details["procedure"] == "aide-conservation" and audited.details["files"] == 2
    _no_personal_data(_audit("procedures.dossier_deleted") + _audit("files.deleted"))


def test_anonymisation_keeps_number_state_and_dates_only(definition, resident, agent):
    set_policy(definition, months=12, mode="anonymise")
    dossier = decided_dossier(definition, resident, number="2026-000001", days_ago=MONTHS_13)
    dossier.assigned_to = agent
    dossier.save()
    files = file_rows_of(dossier)
    decided_at, submitted_at, code = dossier.decided_at, dossier.submitted_at, \
        dossier.tracking_code

    outcome, = retention.apply_retention()

    assert outcome.expired == ["2026-000001"]
    dossier.refresh_from_db()
    assert (dossier.number, dossier.state) == ("2026-000001", "accepte")
    assert (dossier.decided_at, dossier.submitted_at) == (decided_at, submitted_at)
    assert dossier.assigned_to == agent  # who processed it is no personal data of the applicant
    assert dossier.data == {} and dossier.page_inputs == {} and dossier.processing_data == {}
    assert dossier.applicant is None and dossier.applicant_email == ""
    assert dossier.search_text == "" and dossier.tracking_code != code
    assert not StoredFile.objects.filter(pk__in=files).exists()
    assert not DossierFile.objects.filter(dossier=dossier).exists()
    message = DossierMessage.objects.get(dossier=dossier)
    assert message.body == "" and message.attachment is None and message.author is None
    assert DossierAnnotation.objects.get(dossier=dossier).body == ""
    assert not dossier.events.filter(actor=resident).exists()
    transition = dossier.events.get(kind="transition")
    assert "values" not in transition.details and transition.details["to"] == "accepte"
    assert dossier.events.filter(kind="submitted").exists()  # the dates stay for statistics
    marker = dossier.events.get(kind=retention.ANONYMISED)
    assert marker.actor is None and marker.details["system"] is True and not marker.public
    (audited,) = _audit("procedures.dossier_anonymised")
    assert audited.actor is None and audited.object_label == "2026-000001"
    assert audited.details["mode"] == "anonymise" and audited.details["months"] == 12
    _no_personal_data(_audit("procedures.dossier_anonymised") + _audit("files.deleted"))


@pytest.mark.parametrize("mode", ["anonymise", "delete"])
def test_running_again_does_nothing_more(definition, resident, mode):
    set_policy(definition, months=12, mode=mode)
    decided_dossier(definition, resident, number="2026-000001", days_ago=MONTHS_13)
    decided_dossier(definition, resident, number="2026-000002", days_ago=DAY)
    first = retention.summary(retention.apply_retention())
    assert first["identity_files"] == 2 and first["failed"] == 0
    assert first["anonymised" if mode == "anonymise" else "deleted"] == 1
    audit_rows, events = AuditEvent.objects.count(), DossierEvent.objects.count()

    second = retention.summary(retention.apply_retention())

    assert second == {"identity_files": 0, "deleted": 0, "anonymised": 0, "failed": 0}
    assert (AuditEvent.objects.count(), DossierEvent.objects.count()) == (audit_rows, events)


def test_a_dry_run_lists_what_would_go_and_changes_nothing(definition, resident):
    set_policy(definition, months=12, mode="delete")
    decided_dossier(definition, resident, number="2026-000001", days_ago=MONTHS_13)
    decided_dossier(definition, resident, number="2026-000002", days_ago=DAY)
    decided_dossier(definition, resident, number="2026-000003", days_ago=None)
    before = (Dossier.objects.count(), StoredFile.objects.count(), DossierFile.objects.count(),
              AuditEvent.objects.count(), DossierEvent.objects.count())

    outcome, = retention.plan()

    assert outcome.expired == ["2026-000001"]
    assert outcome.identity_files == 2
    assert outcome.identity_dossiers == ["2026-000001", "2026-000002"]
    assert (Dossier.objects.count(), StoredFile.objects.count(), DossierFile.objects.count(),
            AuditEvent.objects.count(), DossierEvent.objects.count()) == before


def test_work_is_fetched_in_batches(definition, resident):
    set_policy(definition, months=12, mode="anonymise")
    for index in range(5):
        decided_dossier(definition, resident, number=f"2026-00000{index}", days_ago=MONTHS_13,
                        files=("piece_identite",), message=False)

    outcome, = retention.apply_retention(batch_size=2)

    assert sorted(outcome.expired) == [f"2026-00000{index}" for index in range(5)]
    assert outcome.identity_files == 5 and outcome.failed == []
    assert not Dossier.objects.exclude(data={}).exists()


def test_other_procedures_and_organisations_are_untouched(definition, organisation, service,
                                                          resident, other_organisation,
                                                          foreign_resident):
    from mairie.core.factories import ServiceFactory

    set_policy(definition, months=12, mode="delete")
    kept_here = make_retention_procedure(organisation, service, slug="sans-regle")
    here = decided_dossier(kept_here, resident, number="2026-000010", days_ago=MONTHS_13)
    foreign_service = ServiceFactory(organisation=other_organisation, name="Social",
                                     slug="social")
    foreign = make_retention_procedure(other_organisation, foreign_service)
    set_policy(foreign, months=12, mode="delete")
    there = decided_dossier(foreign, foreign_resident, number="2026-000001",
                            days_ago=MONTHS_13)
    decided_dossier(definition, resident, number="2026-000001", days_ago=MONTHS_13)

    outcomes = retention.apply_retention(organisation=organisation)

    assert [o.definition for o in outcomes] == [definition]
    assert Dossier.objects.filter(pk__in=[here.pk, there.pk]).count() == 2
    assert len(file_rows_of(here)) == 3 and len(file_rows_of(there)) == 3
    assert not AuditEvent.objects.filter(organisation=other_organisation,
                                         action__startswith="procedures.dossier_").exists()
    assert Dossier.objects.filter(organisation=organisation).count() == 1


def test_the_daily_task_applies_every_organisations_rules(definition, resident, settings):
    assert settings.CELERY_BEAT_SCHEDULE["procedures-retention"]["task"] == \
        "mairie.procedures.tasks_retention.apply_retention"
    set_policy(definition, months=12, mode="anonymise")
    decided_dossier(definition, resident, number="2026-000001", days_ago=MONTHS_13)

    result = retention_task.delay().get()

    assert result == {"identity_files": 1, "deleted": 0, "anonymised": 1, "failed": 0}
    assert Dossier.objects.get(number="2026-000001").data == {}


def test_a_dossier_decided_exactly_at_the_limit_goes(definition, resident):
    set_policy(definition, months=1, mode="delete")
    dossier = decided_dossier(definition, resident, number="2026-000001", days_ago=None)
    now = timezone.now()
    Dossier.objects.filter(pk=dossier.pk).update(decided_at=retention.months_before(now, 1))
    assert retention.plan(now=now)[0].expired == ["2026-000001"]
    Dossier.objects.filter(pk=dossier.pk).update(
        decided_at=retention.months_before(now, 1) + datetime.timedelta(minutes=1))
    assert retention.plan(now=now)[0].expired == []


@pytest.mark.parametrize("mode", ["anonymise", "delete"])
def test_the_notifications_and_webhook_log_about_an_expired_dossier_go_too(
        definition, resident, agent, mode):
    """The applicant's notice (title with the number, body with the motivation) and the agents'
    go with the dossier; the webhook log loses the applicant's account (all of it on delete)."""
    from mairie.core.notifications.models import Notification
    from mairie.core.notifications.services import notify
    from mairie.procedures.models_api import WebhookDelivery, WebhookEndpoint
    from mairie.procedures.webhooks import payload_for
    from mairie.procedures.workflow import tell_applicants

    set_policy(definition, months=12, mode=mode)
    old = decided_dossier(definition, resident, number="2026-000001", days_ago=MONTHS_13)
    recent = decided_dossier(definition, resident, number="2026-000002", days_ago=MONTHS_11)
    tell_applicants([old, recent])
    notify(organisation=old.organisation, recipients=[agent], kind="system.announcement",
           title="Dossier n° 2026-000001 : Accepté", about=old)
    assert Notification.objects.filter(body__contains="Martin Secret").count() == 2
    endpoint = WebhookEndpoint.objects.create(organisation=old.organisation,
                                              definition=definition,
                                              url="https://si.valmont.example/hook")
    submitted = DossierEvent.objects.create(organisation=old.organisation, dossier=old,
                                            kind="submitted", actor=resident)
    delivery = WebhookDelivery.objects.create(
        organisation=old.organisation, endpoint=endpoint, event="submitted",
        dossier_event=submitted, payload=payload_for(submitted))
    assert delivery.payload["timeline_event"]["actor"] == str(resident.pk)

    retention.apply_retention()

    left = Notification.objects.all()
    assert [n.title for n in left] == ["Votre dossier n° 2026-000002 : Accepté"]
    audited = AuditEvent.objects.get(action=f"procedures.dossier_{mode}d")
    assert audited.details["notifications"] == 2
    if mode == "delete":
        assert not WebhookDelivery.objects.exists()
    else:
        delivery.refresh_from_db()
        assert delivery.payload["timeline_event"]["actor"] is None
        assert delivery.payload["dossier"]["number"] == "2026-000001"
