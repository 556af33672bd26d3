"""Retention of decided dossiers: per-procedure settings and the daily job that applies them.

Three things happen, all "done by the system" (actor None, details {"system": true, "rule":
"retention"}) and each recorded in the audit log without any personal data (the dossier's
number, the procedure, counts):

- identity documents (the file fields listed in the procedure's `RetentionPolicy`) are deleted
  as soon as the dossier is decided, as démarches-simplifiées does: the agents no longer need
  them once the decision is taken;
- once `months` have passed since the decision, the dossier is deleted with everything
  attached to it (mode "delete"), or anonymised (mode "anonymise"): answers, applicant, e-mail,
  message and note texts and every file go; the number, the state, the dates and the timeline's
  kinds stay, so statistics remain true. In both modes the notifications about the dossier
  (which quote its number and motivation) go too, and so does the applicant's account id in
  the webhook delivery log (the whole log of the dossier when it is deleted).

Every dossier is handled in its own transaction (the row locked, the condition re-checked), so
the job may stop at any point and run again: it never does anything twice, and a dossier that
fails is reported and skipped without stopping the others. Work is fetched in batches of ids.
"""

from __future__ import annotations

import calendar
import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event
from mairie.core.files.models import StoredFile
from mairie.core.files.services import delete_stored_file
from mairie.core.notifications.models import Notification, subject_of

from . import schema as schema_helpers
from .models import (
    CorrectionRequest,
    Dossier,
    DossierAnnotation,
    DossierDocument,
    DossierEvent,
    DossierFile,
    DossierMessage,
    DossierValidation,
    OpinionRequest,
    ProcedureDefinition,
    new_tracking_code,
)
from .models_api import WebhookDelivery
from .models_retention import RetentionPolicy

logger = logging.getLogger(__name__)

RULE = "retention"
SYSTEM = {"system": True, "rule": RULE}
BATCH_SIZE = 200
MAX_MONTHS = 1200  # a hundred years: beyond that, "no limit" says it better
# Timeline kinds written here (described in events.py, "Retention" section).
IDENTITY_DELETED = "identity_documents_deleted"
ANONYMISED = "anonymised"


class StalePolicy(Exception):
    """The retention settings were saved by someone else since the page was loaded."""

    def __init__(self, current: RetentionPolicy):
        self.current = current
        super().__init__(_("Ces règles de conservation ont été modifiées par quelqu'un d'autre "
                           "depuis l'affichage de la page : rien n'a été enregistré. Vérifiez "
                           "les valeurs ci-dessous puis enregistrez à nouveau."))


# --- Settings --------------------------------------------------------------------------------


def policy_of(definition: ProcedureDefinition) -> RetentionPolicy:
    """The procedure's policy, or an unsaved default one (keep everything)."""
    policy = RetentionPolicy.objects.filter(definition=definition).first()
    return policy or RetentionPolicy(organisation_id=definition.organisation_id,
                                     definition=definition)


def file_fields_of(definition: ProcedureDefinition) -> dict[str, str]:
    """The file fields of every version of the procedure (key → label of the newest version
    that has it): dossiers filed with an older version keep their own fields."""
    fields: dict[str, str] = {}
    for schema in definition.versions.order_by("number").values_list("schema", flat=True):
        for _page, spec in schema_helpers.iter_fields(schema or {}):
            if spec.get("type") == "file" and spec.get("key"):
                fields[spec["key"]] = str(spec.get("label") or spec["key"])
    return fields


@transaction.atomic
def save_policy(*, actor, definition: ProcedureDefinition, months: int | None, mode: str,
                identity_fields: Iterable[str], expected_version: str = "",
                request: HttpRequest | None = None) -> RetentionPolicy:
    """Save the procedure's retention settings. Only its designers (`rules.may_design`) may;
    `expected_version` (the `updated_at` shown on the page) refuses a concurrent change
    (`StalePolicy`) instead of overwriting it."""
    from .rules import may_design

    if not may_design(actor, definition, definition.organisation):
        raise PermissionDenied
    identity_fields = list(dict.fromkeys(identity_fields))
    errors: dict[str, list[str]] = {}
    if months is not None and not 1 <= months <= MAX_MONTHS:
        errors["months"] = [_("Indiquez un nombre de mois entre 1 et %(max)s, ou laissez vide "
                              "pour conserver sans limite.") % {"max": MAX_MONTHS}]
    if mode not in RetentionPolicy.Mode.values:
        errors["mode"] = [_("Choisissez « Anonymiser » ou « Supprimer ».")]
    unknown = sorted(set(identity_fields) - set(file_fields_of(definition)))
    if unknown:
        errors["identity_fields"] = [_("Ces champs ne sont pas des champs fichier de la "
                                       "démarche : %(keys)s.") % {"keys": ", ".join(unknown)}]
    if errors:
        raise ValidationError(errors)
    policy = RetentionPolicy.objects.select_for_update().filter(definition=definition).first()
    if policy is not None and expected_version and \
            policy.updated_at.isoformat() != expected_version:
        raise StalePolicy(policy)
    if policy is None:
        policy = RetentionPolicy(organisation=definition.organisation, definition=definition)
    before = {"months": policy.months, "mode": policy.mode,
              "identity_fields": list(policy.identity_fields)} \
        if not policy._state.adding else None
    policy.months, policy.mode, policy.identity_fields = months, mode, identity_fields
    policy.save()
    record_event(organisation=definition.organisation, action="procedures.retention_changed",
                 actor=actor, obj=definition, request=request,
                 details={"before": before, "months": months, "mode": mode,
                          "identity_fields": identity_fields})
    return policy


# --- What is due -----------------------------------------------------------------------------


def months_before(moment: datetime.datetime, months: int) -> datetime.datetime:
    """`moment` minus whole calendar months (31 March − 1 month = 28/29 February)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def policies(*, organisation=None) -> QuerySet[RetentionPolicy]:
    qs = RetentionPolicy.objects.select_related("definition", "organisation").order_by(
        "organisation__slug", "definition__slug")
    return qs.filter(organisation=organisation) if organisation is not None else qs


def identity_links(policy: RetentionPolicy) -> QuerySet[DossierFile]:
    """Identity documents of the procedure's decided dossiers, still stored."""
    if not policy.identity_fields:
        return DossierFile.objects.none()
    return DossierFile.objects.filter(
        organisation_id=policy.organisation_id,
        dossier__version__definition_id=policy.definition_id,
        dossier__decided_at__isnull=False, field_key__in=policy.identity_fields)


def expired_dossiers(policy: RetentionPolicy, *, now: datetime.datetime) -> QuerySet[Dossier]:
    """The procedure's dossiers decided more than `months` ago and not yet dealt with."""
    if not policy.months:
        return Dossier.objects.none()
    qs = Dossier.objects.filter(organisation_id=policy.organisation_id,
                                version__definition_id=policy.definition_id,
                                decided_at__lte=months_before(now, policy.months))
    if policy.mode == RetentionPolicy.Mode.ANONYMISE:
        qs = qs.exclude(Exists(DossierEvent.objects.filter(dossier=OuterRef("pk"),
                                                           kind=ANONYMISED)))
    return qs


@dataclass
class ProcedureOutcome:
    """What the job found (dry run) or did for one procedure."""

    policy: RetentionPolicy
    identity_files: int = 0
    identity_dossiers: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def definition(self) -> ProcedureDefinition:
        return self.policy.definition

    @property
    def mode(self) -> str:
        return self.policy.mode


def plan(*, organisation=None, now: datetime.datetime | None = None) -> list[ProcedureOutcome]:
    """What `apply_retention` would do now, changing nothing (the dry run)."""
    now = now or timezone.now()
    outcomes = []
    for policy in policies(organisation=organisation):
        links = identity_links(policy)
        outcome = ProcedureOutcome(policy=policy, identity_files=links.count())
        outcome.identity_dossiers = list(
            Dossier.objects.filter(pk__in=links.values("dossier_id")).order_by("number")
            .values_list("number", flat=True))
        outcome.expired = list(expired_dossiers(policy, now=now).order_by("number")
                               .values_list("number", flat=True))
        outcomes.append(outcome)
    return outcomes


# --- Doing it --------------------------------------------------------------------------------


def apply_retention(*, organisation=None, now: datetime.datetime | None = None,
                    batch_size: int = BATCH_SIZE) -> list[ProcedureOutcome]:
    """Remove identity documents of decided dossiers and delete or anonymise the dossiers
    past their procedure's retention period. Safe to run again at any time."""
    now = now or timezone.now()
    outcomes = []
    for policy in policies(organisation=organisation):
        outcome = ProcedureOutcome(policy=policy)
        _in_batches(identity_links(policy).order_by("dossier_id")
                    .values_list("dossier_id", flat=True).distinct(),
                    lambda pk, p=policy, o=outcome: _remove_identity_documents(p, pk, o),
                    outcome, batch_size, id_field="dossier_id")
        handle = _delete_dossier if policy.mode == RetentionPolicy.Mode.DELETE \
            else _anonymise_dossier
        _in_batches(expired_dossiers(policy, now=now).values_list("pk", flat=True),
                    lambda pk, p=policy, o=outcome, h=handle: h(p, pk, now, o),
                    outcome, batch_size)
        outcomes.append(outcome)
    return outcomes


def _in_batches(ids_query, handle, outcome: ProcedureOutcome, batch_size: int,
                *, id_field: str = "pk") -> None:
    """Fetch `batch_size` dossier ids at a time until none is left; each one is handled on
    its own. One that fails (or comes back although it was handled) is logged, reported and
    not fetched again, so the loop always ends."""
    handled: set = set()
    failed: set = set()
    while True:
        ids = list(ids_query.exclude(**{f"{id_field}__in": failed})[:batch_size])
        if not ids:
            return
        for pk in ids:
            try:
                if pk in handled:
                    raise RuntimeError("dossier still due after being handled")
                handle(pk)
                handled.add(pk)
            except Exception:
                logger.exception("Retention failed for dossier %s", pk)
                failed.add(pk)
                number = Dossier.objects.filter(pk=pk).values_list("number", flat=True).first()
                outcome.failed.append(number or str(pk))


def _audit(dossier: Dossier, action: str, policy: RetentionPolicy, **details) -> None:
    record_event(organisation=dossier.organisation, action=action, actor=None,
                 object_type="procedures.dossier", object_id=str(dossier.pk),
                 object_label=dossier.number,
                 details={**SYSTEM, "procedure": policy.definition.slug, **details})


def _timeline(dossier: Dossier, kind: str, *, public: bool, **details) -> None:
    DossierEvent.objects.create(organisation_id=dossier.organisation_id, dossier=dossier,
                                kind=kind, actor=None, public=public,
                                details={**SYSTEM, **details})


def _locked(pk, **conditions) -> Dossier | None:
    return (Dossier.objects.select_for_update(of=("self",))
            .select_related("organisation", "version")
            .filter(pk=pk, **conditions).first())


@transaction.atomic
def _remove_identity_documents(policy: RetentionPolicy, pk, outcome: ProcedureOutcome) -> None:
    dossier = _locked(pk, decided_at__isnull=False)
    if dossier is None:
        return
    links = list(DossierFile.objects.filter(dossier=dossier,
                                            field_key__in=policy.identity_fields))
    if not links:
        return
    keys = sorted({link.field_key for link in links})
    file_ids = {link.stored_file_id for link in links}
    DossierFile.objects.filter(pk__in=[link.pk for link in links]).delete()
    data = dict(dossier.data or {})
    for key in keys:
        data.pop(key, None)
    page_inputs = {page: {name: value for name, value in inputs.items() if name not in keys}
                   for page, inputs in (dossier.page_inputs or {}).items()
                   if isinstance(inputs, dict)}
    dossier.data, dossier.page_inputs = data, page_inputs
    dossier.lock_version += 1
    dossier.save(update_fields=["data", "page_inputs", "lock_version", "updated_at"])
    deleted = _delete_unreferenced(file_ids)
    labels = getattr(policy, "_file_labels", None)
    if labels is None:  # once per procedure and run, not per dossier
        labels = policy._file_labels = file_fields_of(policy.definition)
    _timeline(dossier, IDENTITY_DELETED, public=True,
              fields=[labels.get(key, key) for key in keys])
    _audit(dossier, "procedures.identity_documents_deleted", policy, fields=keys,
           files=deleted)
    outcome.identity_files += deleted
    outcome.identity_dossiers.append(dossier.number)


def _file_ids_of(dossier: Dossier) -> set:
    ids = set(DossierFile.objects.filter(dossier=dossier).values_list("stored_file_id",
                                                                       flat=True))
    ids |= set(DossierDocument.objects.filter(dossier=dossier)
               .values_list("stored_file_id", flat=True))
    ids |= set(DossierMessage.objects.filter(dossier=dossier, attachment__isnull=False)
               .values_list("attachment_id", flat=True))
    ids |= set(OpinionRequest.answer_files.through.objects.filter(
        opinionrequest__dossier=dossier).values_list("storedfile_id", flat=True))
    return ids


def _delete_unreferenced(file_ids: set) -> int:
    """Delete the stored files (rows and bytes, `files.deleted` audited) that nothing of the
    procedures engine points to any more; returns how many went."""
    if not file_ids:
        return 0
    still_used = set(DossierFile.objects.filter(stored_file_id__in=file_ids)
                     .values_list("stored_file_id", flat=True))
    still_used |= set(DossierDocument.objects.filter(stored_file_id__in=file_ids)
                      .values_list("stored_file_id", flat=True))
    still_used |= set(DossierMessage.objects.filter(attachment_id__in=file_ids)
                      .values_list("attachment_id", flat=True))
    still_used |= set(OpinionRequest.answer_files.through.objects.filter(
        storedfile_id__in=file_ids).values_list("storedfile_id", flat=True))
    count = 0
    for stored in StoredFile.objects.filter(pk__in=file_ids - still_used).select_related(
            "organisation"):
        delete_stored_file(actor=None, stored_file=stored)
        count += 1
    return count


@transaction.atomic
def _delete_dossier(policy: RetentionPolicy, pk, now: datetime.datetime,
                    outcome: ProcedureOutcome) -> None:
    dossier = _locked(pk, decided_at__lte=months_before(now, policy.months))
    if dossier is None:
        return
    file_ids = _file_ids_of(dossier)
    notifications = _forget_notifications(dossier)
    # The delivery log of its webhooks goes with the timeline it came from.
    WebhookDelivery.objects.filter(dossier_event__dossier=dossier).delete()
    _audit(dossier, "procedures.dossier_deleted", policy, mode=policy.mode,
           months=policy.months, decided_at=dossier.decided_at.isoformat(),
           files=len(file_ids), notifications=notifications)
    number = dossier.number
    # Cascades to the timeline, links to files, messages, notes, opinions, corrections,
    # validations, documents and labels; the stored files go right after.
    dossier.delete()
    _delete_unreferenced(file_ids)
    outcome.expired.append(number)


@transaction.atomic
def _anonymise_dossier(policy: RetentionPolicy, pk, now: datetime.datetime,
                       outcome: ProcedureOutcome) -> None:
    dossier = _locked(pk, decided_at__lte=months_before(now, policy.months))
    if dossier is None or dossier.events.filter(kind=ANONYMISED).exists():
        return
    file_ids = _file_ids_of(dossier)
    applicant_id = dossier.applicant_id
    DossierFile.objects.filter(dossier=dossier).delete()
    DossierDocument.objects.filter(dossier=dossier).delete()
    DossierMessage.objects.filter(dossier=dossier).update(body="", attachment=None)
    DossierMessage.objects.filter(dossier=dossier, from_applicant=True).update(author=None)
    DossierAnnotation.objects.filter(dossier=dossier).update(body="")
    OpinionRequest.answer_files.through.objects.filter(opinionrequest__dossier=dossier).delete()
    OpinionRequest.objects.filter(dossier=dossier).update(question="", answer="")
    CorrectionRequest.objects.filter(dossier=dossier).update(message="")
    DossierValidation.objects.filter(dossier=dossier).update(comment="")
    if applicant_id is not None:
        _forget_actor_in_webhooks(dossier, applicant_id)
        DossierEvent.objects.filter(dossier=dossier, actor_id=applicant_id).update(actor=None)
        CorrectionRequest.objects.filter(dossier=dossier, answered_by_id=applicant_id) \
            .update(answered_by=None)
    # What agents typed when moving the dossier (motivations) may quote the applicant.
    events = [event for event in DossierEvent.objects.filter(dossier=dossier)
              if isinstance(event.details, dict) and "values" in event.details]
    for event in events:
        event.details = {k: v for k, v in event.details.items() if k != "values"}
    DossierEvent.objects.bulk_update(events, ["details"])
    dossier.data, dossier.page_inputs, dossier.current_page = {}, {}, ""
    dossier.applicant, dossier.applicant_email = None, ""
    dossier.processing_data, dossier.search_text = {}, ""
    # The old tracking link must not open the dossier any more.
    dossier.tracking_code = new_tracking_code()
    dossier.lock_version += 1
    dossier.save(update_fields=["data", "page_inputs", "current_page", "applicant",
                                "applicant_email", "processing_data", "search_text",
                                "tracking_code", "lock_version", "updated_at"])
    deleted = _delete_unreferenced(file_ids)
    notifications = _forget_notifications(dossier)
    _timeline(dossier, ANONYMISED, public=False, months=policy.months)
    _audit(dossier, "procedures.dossier_anonymised", policy, mode=policy.mode,
           months=policy.months, decided_at=dossier.decided_at.isoformat(), files=deleted,
           notifications=notifications)
    outcome.expired.append(dossier.number)


def _forget_notifications(dossier: Dossier) -> int:
    """The notifications about the dossier (their titles and motivations quote it), the
    applicant's and the agents'; returns how many went."""
    deleted, _by_model = Notification.objects.filter(
        organisation_id=dossier.organisation_id, subject=subject_of(dossier)).delete()
    return deleted


def _forget_actor_in_webhooks(dossier: Dossier, applicant_id) -> None:
    """Webhook payloads carry no personal data but the id of the account that acted: the
    applicant's is blanked in the delivery log, as on the timeline."""
    deliveries = list(WebhookDelivery.objects.filter(dossier_event__dossier=dossier,
                                                     dossier_event__actor_id=applicant_id))
    for delivery in deliveries:
        event = (delivery.payload or {}).get("timeline_event")
        if isinstance(event, dict):
            event["actor"] = None
    WebhookDelivery.objects.bulk_update(deliveries, ["payload"])


def summary(outcomes: list[ProcedureOutcome]) -> dict[str, int]:
    """Totals for the task's result and logs."""
    return {
        "identity_files": sum(o.identity_files for o in outcomes),
        "deleted": sum(len(o.expired) for o in outcomes
                       if o.mode == RetentionPolicy.Mode.DELETE),
        "anonymised": sum(len(o.expired) for o in outcomes
                          if o.mode == RetentionPolicy.Mode.ANONYMISE),
        "failed": sum(len(o.failed) for o in outcomes),
    }


__all__ = ["ANONYMISED", "IDENTITY_DELETED", "ProcedureOutcome", "StalePolicy",
           "apply_retention", "expired_dossiers", "file_fields_of", "identity_links",
           "months_before", "plan", "policy_of", "save_policy", "summary"]
