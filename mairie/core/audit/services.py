"""Writing to and checking the audit trail."""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from mairie.core.bulk import insert_all

from .models import GENESIS_HASH, AuditChainHead, AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _locked_head(organisation) -> AuditChainHead:
    """The organisation's chain head, locked until the end of the transaction (created with
    the first event: one query in the usual case, whatever happened before)."""
    head = AuditChainHead.objects.select_for_update().filter(organisation=organisation).first()
    if head is None:
        AuditChainHead.objects.get_or_create(organisation=organisation)
        head = AuditChainHead.objects.select_for_update().get(organisation=organisation)
    return head


def record_event(
    *,
    organisation,
    action: str,
    actor=None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event to `organisation`'s chain. Runs in (or opens) a transaction."""
    return record_events(organisation=organisation, request=request, entries=[{
        "action": action, "actor": actor, "obj": obj, "object_type": object_type,
        "object_id": object_id, "object_label": object_label, "details": details}])[0]


def record_events(*, organisation, entries: list[dict[str, Any]],
                  request: HttpRequest | None = None) -> list[AuditEvent]:
    """Append several events to `organisation`'s chain, in order, with one lock of its head,
    one insert and one update (batch work writes thousands at once). Each entry holds the
    keyword arguments of `record_event` but `organisation` and `request`. Inside
    `appended_at_the_end()`, the events are returned unsaved and written when it ends."""
    if not entries:
        return []
    now = timezone.now()
    ip = client_ip(request)
    agent = request.META.get("HTTP_USER_AGENT", "")[:300] if request else ""
    events = []
    for entry in entries:
        actor, obj = entry.get("actor"), entry.get("obj")
        if actor is not None and not getattr(actor, "is_authenticated", False):
            actor = None
        object_type = entry.get("object_type") or ""
        object_id = entry.get("object_id") or ""
        object_label = entry.get("object_label") or ""
        if obj is not None:
            object_type = object_type or obj._meta.label_lower
            object_id = object_id or str(obj.pk)
            object_label = object_label or str(obj)[:300]
        events.append(AuditEvent(
            organisation=organisation, created_at=now, actor=actor,
            actor_label=(f"{actor} <{actor.email}>" if actor is not None
                         else "système")[:300],
            action=entry["action"], object_type=object_type, object_id=object_id,
            object_label=object_label[:300], ip_address=ip, user_agent=agent,
            details=entry.get("details") or {}))
    pending = _pending.get()
    if pending is not None:
        pending.setdefault(organisation.pk, (organisation, []))[1].extend(events)
        return events
    return _append(organisation, events)


def _append(organisation, events: list[AuditEvent]) -> list[AuditEvent]:
    """Chain and write `events` after the organisation's head, which stays locked until the
    end of the transaction."""
    with transaction.atomic():
        head = _locked_head(organisation)
        seq, previous = head.last_seq, head.last_hash
        for event in events:
            seq += 1
            event.seq, event.prev_hash = seq, previous
            event.hash = event.compute_hash()
            previous = event.hash
        insert_all(events)
        head.last_seq, head.last_hash = seq, previous
        head.save(update_fields=["last_seq", "last_hash"])
    return events


_pending: contextvars.ContextVar[dict | None] = contextvars.ContextVar("audit_pending",
                                                                      default=None)


@contextlib.contextmanager
def appended_at_the_end():
    """Within a transaction: the audit events recorded in the block are chained and written
    when it ends, in their order, one append per organisation. The chain head's lock (which
    serialises every writer of the organisation) is then held from there to the commit, not
    through the whole block: two workers deciding thousands of dossiers overlap. If the block
    raises, nothing is written (its transaction rolls back anyway)."""
    if _pending.get() is not None:  # nested: the outer block writes them
        yield
        return
    token = _pending.set({})
    try:
        yield
        pending = _pending.get() or {}
    finally:
        _pending.reset(token)
    for organisation, events in pending.values():
        _append(organisation, events)


@dataclass
class ChainBreak:
    organisation_id: str
    seq: int
    reason: str


def verify_chain(organisation) -> ChainBreak | None:
    """Walk `organisation`'s chain; return the first broken link, or None if intact."""
    expected_prev, expected_seq = GENESIS_HASH, 1
    events = AuditEvent.objects.filter(organisation=organisation).order_by("seq")
    for event in events.iterator(chunk_size=2000):
        org_id = str(organisation.pk)
        if event.seq != expected_seq:
            return ChainBreak(org_id, expected_seq, "événement manquant (numéro absent)")
        if event.prev_hash != expected_prev:
            return ChainBreak(org_id, event.seq, "lien rompu avec l'événement précédent")
        if event.compute_hash() != event.hash:
            return ChainBreak(org_id, event.seq, "contenu modifié (empreinte invalide)")
        expected_prev, expected_seq = event.hash, expected_seq + 1
    head = AuditChainHead.objects.filter(organisation=organisation).first()
    if head is not None and head.last_seq != expected_seq - 1:
        return ChainBreak(str(organisation.pk), expected_seq,
                          "derniers événements supprimés (fin de chaîne absente)")
    return None
