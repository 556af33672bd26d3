"""Batch work: an agent applies one action to many dossiers of the inbox at once.

`create_batch` freezes the selection (dossiers the agent sees, chosen in SQL by
`queries.dossiers_for_agent` / `dossiers_readable_by_agent`) into `BatchItem` rows and hands
the batch to Celery (`tasks_batch.run_batch`), which calls `run_batch` here: items are taken
chunk by chunk through the same services as the dossier page (`processing.assign`,
`set_labels`, `send_agent_message`, one transaction per item), so the engine checks roles,
guards and the lock version dossier by dossier. A refusal marks the item failed with its
French reason and the batch goes on. A transition is taken on a whole chunk in one
transaction (`process_transition_chunk`): each dossier checked as on its page
(`workflow.checked_move`), all written together by the engine's one writer
(`workflow.write_moves`) — tens of thousands of dossiers a minute; should an action fail on one
dossier, the chunk is rolled back and taken item by item.

Why no dossier gets the action twice: the item is locked (`select_for_update(skip_locked)`),
checked to be still pending, and marked done in the transaction that applies the action. A
worker that dies mid-item rolls both back; running the batch again takes the pending items
only (`resume_stalled_batches`, every few minutes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from mairie.core.audit.services import appended_at_the_end, record_event, record_events
from mairie.core.bulk import insert_all

from . import processing, workflow
from .models import Dossier, Label
from .models_batch import Batch, BatchItem
from .services import StaleDossier

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
# A running batch that has not moved for this long lost its worker: it is started again.
STALLED_AFTER = timedelta(minutes=10)
# Fields a transition may ask for and a batch can give (the same text for every dossier).
BATCH_TRANSITION_FIELDS = {"motivation", "comment"}


class BatchRefused(ValidationError):
    """The batch cannot be created; the message says why, in French."""


def transition_fits_batch(transition: Mapping) -> bool:
    """A transition can be taken in a batch when it asks nothing that differs per dossier:
    no field but a motivation or a comment, no correction or opinion request."""
    if transition.get("role") == workflow.APPLICANT:
        return False
    if any(spec["key"] not in BATCH_TRANSITION_FIELDS
           for spec in workflow.field_specs(transition)):
        return False
    return not (workflow.action_types(transition)
                & {"request_correction", "request_opinion"})


def transitions_needing_motivation(procedures: Iterable, key: str) -> bool:
    return any(spec["key"] == "motivation" and spec.get("required", True)
               for procedure in procedures
               for transition in procedure.current_version.workflow.transitions
               if isinstance(transition, Mapping) and transition.get("key") == key
               for spec in workflow.field_specs(transition))


def batch_transitions(procedures: Iterable, scope) -> list[tuple[str, str]]:
    """(key, label) of the transitions the agent may take in a batch: those of the published
    versions of `procedures` whose role they play (`scope`: `queries.AgentScope`). Keys shared
    by several workflows are offered once; the engine checks each dossier."""
    found: dict[str, list[str]] = {}
    for procedure in procedures:
        version = procedure.current_version
        if version is None:
            continue
        roles = scope.holdings.roles_for(procedure, version.workflow)
        for transition in version.workflow.transitions:
            if (not isinstance(transition, Mapping) or not transition.get("key")
                    or transition.get("role") not in roles
                    or not transition_fits_batch(transition)):
                continue
            labels = found.setdefault(transition["key"], [])
            label = str(transition.get("label") or transition["key"])
            if label not in labels:
                labels.append(label)
    return sorted(((key, " / ".join(labels)) for key, labels in found.items()),
                  key=lambda item: item[1].casefold())


# --- Creating a batch -------------------------------------------------------------------------

@transaction.atomic
def create_batch(*, actor, organisation, action: str, parameters: Mapping[str, Any],
                 dossiers, summary: str = "", token=None,
                 request: HttpRequest | None = None) -> Batch:
    """Freeze `dossiers` (a permission-filtered queryset of the agent's dossiers) into a new
    batch of `action` with `parameters`, and start it once the transaction commits.

    `token` is the confirmation form's one-time token: when this agent already created a
    batch with it (a double click, a form sent again), that batch is returned unchanged."""
    if token is not None:
        existing = Batch.objects.filter(organisation=organisation, created_by=actor,
                                        request_token=token).first()
        if existing is not None:
            return existing
    if action not in Batch.Action.values:
        raise BatchRefused(_("Choisissez une action de la liste."), code="action")
    # In the inbox's order (its sort), so the batch goes through them as the agent saw them.
    rows = list(dossiers.prefetch_related(None).values_list("pk", "lock_version"))
    if not rows:
        raise BatchRefused(_("Aucun dossier n'est sélectionné : cochez des dossiers ou "
                             "choisissez « tous les dossiers de ce filtre »."), code="empty")
    batch = Batch.objects.create(organisation=organisation, created_by=actor, action=action,
                                 parameters={**parameters, "summary": summary},
                                 total=len(rows), request_token=token)
    insert_all([BatchItem(batch=batch, dossier_id=pk, lock_version=lock, position=index)
                for index, (pk, lock) in enumerate(rows)])
    record_event(organisation=organisation, action="procedures.batch_created", actor=actor,
                 obj=batch, object_label=batch.get_action_display(), request=request,
                 details={"batch": str(batch.pk), "action": action, "total": batch.total,
                          **{k: v for k, v in parameters.items() if k != "body"}})
    from .tasks_batch import run_batch

    batch_id = str(batch.pk)
    # A transition is taken chunk by chunk by as many tasks as the workers run at once
    # (each locks its own chunk); other actions go item by item in one task.
    tasks = 1
    if action == Batch.Action.TRANSITION:
        tasks = max(1, min(settings.MAIRIE_BATCH_PARALLEL_TASKS,
                           -(-len(rows) // CHUNK_SIZE)))
    for _task in range(tasks):
        transaction.on_commit(lambda: run_batch.delay(batch_id))
    return batch


# --- Running a batch --------------------------------------------------------------------------

def run_batch(batch_id, *, chunk_size: int = CHUNK_SIZE) -> Batch | None:
    """Process every pending item of the batch, chunk by chunk; mark it finished."""
    while process_chunk(batch_id, chunk_size=chunk_size):
        pass
    return finish(batch_id)


def process_chunk(batch_id, *, chunk_size: int = CHUNK_SIZE) -> int:
    """Process up to `chunk_size` pending items (one transaction each); how many were taken."""
    batch = (Batch.objects.select_related("created_by", "organisation")
             .filter(pk=batch_id).first())
    if batch is None or batch.status == Batch.Status.FINISHED:
        return 0
    if batch.status == Batch.Status.PENDING:
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.PENDING).update(
            status=Batch.Status.RUNNING, started_at=timezone.now(), updated_at=timezone.now())
    if batch.action == Batch.Action.TRANSITION:
        try:
            return process_transition_chunk(batch, chunk_size=chunk_size)
        except Exception:  # noqa: BLE001 - the chunk was rolled back: one by one instead
            logger.info("Batch %s: chunk taken dossier by dossier", batch.pk, exc_info=True)
    item_ids = list(BatchItem.objects.filter(batch=batch, status=BatchItem.Status.PENDING)
                    .order_by("position").values_list("pk", flat=True)[:chunk_size])
    taken = 0
    for item_id in item_ids:
        taken += process_item(batch, item_id)
    return taken


def finish(batch_id) -> Batch | None:
    """Mark the batch finished once no item is pending (counters recomputed from the items)."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            return None
        if batch.items.filter(status=BatchItem.Status.PENDING).exists():
            return batch
        if batch.status != Batch.Status.FINISHED:
            counts = dict(batch.items.order_by().values("status")
                          .annotate(n=Count("pk")).values_list("status", "n"))
            batch.done = counts.get(BatchItem.Status.DONE, 0)
            batch.failed = counts.get(BatchItem.Status.FAILED, 0)
            batch.skipped = counts.get(BatchItem.Status.SKIPPED, 0)
            batch.status = Batch.Status.FINISHED
            batch.finished_at = timezone.now()
            batch.started_at = batch.started_at or batch.finished_at
            batch.save()
            record_event(organisation=batch.organisation, action="procedures.batch_finished",
                         actor=batch.created_by, obj=batch,
                         object_label=batch.get_action_display(),
                         details={"batch": str(batch.pk), "done": batch.done,
                                  "failed": batch.failed, "skipped": batch.skipped})
        return batch


class _Skipped(Exception):
    """Nothing to change on this dossier (already labelled, already assigned…)."""


def _outcome(exc: Exception, batch: Batch, dossier_id) -> tuple[str, str]:
    """(status, reason in French) of an item whose action raised `exc`."""
    if isinstance(exc, _Skipped):
        return BatchItem.Status.SKIPPED, str(exc)
    if isinstance(exc, StaleDossier):
        return BatchItem.Status.FAILED, _(
            "Le dossier a été modifié par quelqu'un d'autre depuis la création du lot : "
            "rien n'a été fait. Ouvrez-le pour vérifier.")
    if isinstance(exc, PermissionDenied):
        return BatchItem.Status.FAILED, _(
            "Vous ne pouvez pas faire cette action sur ce dossier : vous n'y jouez pas le "
            "rôle nécessaire.")
    if isinstance(exc, ValidationError):  # guard false, wrong state, refused by processing…
        return BatchItem.Status.FAILED, " ".join(exc.messages)
    logger.error("Batch %s: dossier %s failed", batch.pk, dossier_id, exc_info=exc)
    return BatchItem.Status.FAILED, _(
        "Erreur technique inattendue : le dossier n'a pas été modifié.")


_COUNTERS = {BatchItem.Status.DONE: "done", BatchItem.Status.FAILED: "failed",
             BatchItem.Status.SKIPPED: "skipped"}


def _record_outcomes(batch: Batch, outcomes: dict) -> None:
    """Mark the items {item id: (status, reason)} processed and count them on the batch, in
    a few queries (one per distinct reason), in the caller's transaction."""
    now = timezone.now()
    by_outcome: dict[tuple[str, str], list] = {}
    for item_id, outcome in outcomes.items():
        by_outcome.setdefault(outcome, []).append(item_id)
    counts: dict[str, int] = {}
    for (status, reason), ids in by_outcome.items():
        BatchItem.objects.filter(pk__in=ids).update(status=status, reason=reason,
                                                    processed_at=now)
        counts[_COUNTERS[status]] = counts.get(_COUNTERS[status], 0) + len(ids)
    Batch.objects.filter(pk=batch.pk).update(
        **{name: F(name) + n for name, n in counts.items()}, updated_at=now)


def process_item(batch: Batch, item_id) -> int:
    """Apply the batch's action to one item's dossier, in one transaction with the item's
    new status; 0 when the item is no longer pending or another worker holds it."""
    with transaction.atomic():
        item = (BatchItem.objects.select_for_update(skip_locked=True)
                .filter(pk=item_id, status=BatchItem.Status.PENDING).first())
        if item is None:
            return 0
        outcome = BatchItem.Status.DONE, ""
        try:
            with transaction.atomic():  # a refusal undoes this dossier's half-done writes
                _apply(batch, item)
        except Exception as exc:  # noqa: BLE001 - one dossier's surprise must not stop others
            outcome = _outcome(exc, batch, item.dossier_id)
        _record_outcomes(batch, {item.pk: outcome})
        return 1


def _batch_audit(batch: Batch, dossier: Dossier) -> dict:
    parameters = batch.parameters or {}
    return {"action": "procedures.batch_action_applied", "actor": batch.created_by,
            "obj": dossier, "object_label": dossier.number,
            "details": {"batch": str(batch.pk), "action": batch.action,
                        **{k: v for k, v in parameters.items()
                           if k in ("transition", "to", "label")}}}


def process_transition_chunk(batch: Batch, *, chunk_size: int = CHUNK_SIZE) -> int:
    """Take the batch's transition on the next `chunk_size` pending items at once, in one
    transaction (items another worker holds are skipped: several tasks share a batch):
    each dossier is checked as on its page (`workflow.checked_move`: role, state, guard, lock
    version), the refused ones are marked failed with their reason, the others are written
    together (`workflow.write_moves`: a few queries for the whole chunk). Raises when a
    transition's action fails on one dossier: nothing of the chunk is kept, and the caller
    goes through its items one by one instead."""
    parameters = batch.parameters or {}
    comment = parameters.get("comment") or ""
    actor = batch.created_by
    with transaction.atomic(), appended_at_the_end():
        items = list(BatchItem.objects.select_for_update(skip_locked=True)
                     .filter(batch=batch, status=BatchItem.Status.PENDING)
                     .order_by("position")[:chunk_size])
        if not items:
            return 0
        # Versions, workflows and people are read once for the chunk (not once per row, as
        # a join would: a workflow's JSON decoded hundreds of times).
        dossiers = {dossier.pk: dossier for dossier in (
            Dossier.objects.select_for_update()
            .filter(organisation=batch.organisation, submitted_at__isnull=False,
                    pk__in=[item.dossier_id for item in items])
            .defer("page_inputs", "search_text")
            .prefetch_related("version__definition__service", "version__workflow",
                              "applicant", "assigned_to"))}
        for dossier in dossiers.values():
            dossier.organisation = batch.organisation
        outcomes, moves = {}, []
        for item in items:
            dossier = dossiers.get(item.dossier_id)
            try:
                if dossier is None or not actor.is_active:
                    raise PermissionDenied
                moves.append(workflow.checked_move(
                    actor=actor, current=dossier, key=parameters["transition"],
                    values={"motivation": comment, "comment": comment},
                    lock_version=item.lock_version))
                outcomes[item.pk] = BatchItem.Status.DONE, ""
            except Exception as exc:  # noqa: BLE001 - reported on the item
                outcomes[item.pk] = _outcome(exc, batch, item.dossier_id)
        workflow.write_moves(moves, actor=actor,
                             audit_extra=lambda dossier: _batch_audit(batch, dossier))
        _record_outcomes(batch, outcomes)
        return len(items)


def _apply(batch: Batch, item: BatchItem) -> None:
    actor = batch.created_by
    if not actor.is_active:
        raise PermissionDenied
    dossier = (Dossier.objects.filter(organisation=batch.organisation, pk=item.dossier_id,
                                      submitted_at__isnull=False)
               .select_related("version__definition__service", "version__workflow",
                               "organisation", "applicant", "assigned_to").first())
    if dossier is None:
        raise PermissionDenied
    parameters = batch.parameters or {}
    action = batch.action
    if action == Batch.Action.TRANSITION:
        comment = parameters.get("comment") or ""
        workflow.apply_transition(actor=actor, dossier=dossier, key=parameters["transition"],
                                  values={"motivation": comment, "comment": comment},
                                  lock_version=item.lock_version)
    elif action == Batch.Action.ASSIGN:
        _assign(actor, dossier, parameters.get("to"))
    elif action in (Batch.Action.LABEL_ADD, Batch.Action.LABEL_REMOVE):
        _label(actor, dossier, parameters.get("label"), add=action == Batch.Action.LABEL_ADD)
    elif action == Batch.Action.MESSAGE:
        processing.send_agent_message(actor=actor, dossier=dossier,
                                      body=parameters.get("body") or "")
    else:
        raise BatchRefused(_("Action inconnue."))
    record_events(organisation=batch.organisation, entries=[_batch_audit(batch, dossier)])


def _assign(actor, dossier: Dossier, to) -> None:
    from django.contrib.auth import get_user_model

    if to == "none":
        agent = None
    elif to == "self":
        agent = actor
    else:
        agent = (get_user_model().objects.filter(organisation=dossier.organisation, pk=to)
                 .first())
        if agent is None:
            raise BatchRefused(_("Cet agent n'existe plus."))
    if dossier.assigned_to_id == (agent.pk if agent else None):
        raise _Skipped(_("Le dossier était déjà attribué ainsi."))
    processing.assign(actor=actor, dossier=dossier, to=agent)


def _label(actor, dossier: Dossier, label_id, *, add: bool) -> None:
    label = Label.objects.filter(organisation=dossier.organisation, pk=label_id).first()
    if label is None:
        raise BatchRefused(_("Cette étiquette a été supprimée."))
    current = set(dossier.labels.values_list("pk", flat=True))
    if add and label.pk in current:
        raise _Skipped(_("Le dossier portait déjà cette étiquette."))
    if not add and label.pk not in current:
        raise _Skipped(_("Le dossier ne portait pas cette étiquette."))
    wanted = current | {label.pk} if add else current - {label.pk}
    processing.set_labels(actor=actor, dossier=dossier, labels=wanted)


# --- Workers that died ------------------------------------------------------------------------

def stalled_batches() -> list[str]:
    """Ids of the unfinished batches that have not moved for `STALLED_AFTER`."""
    limit = timezone.now() - STALLED_AFTER
    return [str(pk) for pk in Batch.objects.exclude(status=Batch.Status.FINISHED)
            .filter(updated_at__lt=limit).order_by("created_at").values_list("pk", flat=True)]
