"""Reads of the citizen records, always for one agent of one organisation (`rules.py`)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from . import rules, text
from .models import HelpRequest, Interaction, RecordMerge, ResidentRecord

SEARCH_LIMIT = 20
# Without a match on words or sounds, this many records sharing the name's first letter are
# compared letter by letter (a typo such as "Mrtin").
FUZZY_POOL = 500
FUZZY_RATIO = 0.75
_NUMBER = re.compile(r"^\d{4}-\d{1,6}$")


def records_for_agent(user, organisation) -> QuerySet[ResidentRecord]:
    """The organisation's live records (not merged into another), for its agents only."""
    if not rules.is_agent_of(user, organisation):
        return ResidentRecord.objects.none()
    return ResidentRecord.objects.filter(organisation=organisation, merged_into__isnull=True)


def record_for_agent(user, organisation, pk) -> ResidentRecord:
    """One record (merged ones too: their page says where they went), else 404."""
    if not rules.is_agent_of(user, organisation):
        raise Http404
    record = (ResidentRecord.objects.filter(organisation=organisation, pk=pk)
              .select_related("account", "merged_into").first())
    if record is None:
        raise Http404
    record.organisation = organisation
    return record


def search_records(user, organisation, query: str) -> list[ResidentRecord]:
    """Records matching `query`: a dossier number ("2026-000123"), an e-mail address, a phone
    number, or names — each word as the start of a word, or sounding alike ("Lefebvre" →
    "Lefèvre"); failing that, names one or two letters away. Best matches first."""
    query = (query or "").strip()
    records = records_for_agent(user, organisation)
    if not query:
        return []
    if _NUMBER.match(query):
        return _by_dossier_number(user, organisation, records, query)
    if "@" in query:
        return list(records.filter(email__iexact=query)[:SEARCH_LIMIT])
    digits = text.digits(query)
    if len(digits) >= 6 and not text.words(re.sub(r"[\d\s+().-]", "", query)):
        return list(records.filter(phone_digits__startswith=digits)[:SEARCH_LIMIT])
    terms = [word for word in text.words(query) if len(word) > 1 or len(query) == 1]
    if not terms:
        return []
    condition = Q()
    for term in terms[:5]:
        condition &= (Q(search_text__contains=f" {term}")
                      | Q(phonetic__contains=f" {text.phonetic(term)} "))
    found = list(records.filter(condition)[:SEARCH_LIMIT * 5])
    # Then the people one of whose scanned documents has these words (decision 0469).
    in_documents = _records_by_documents(user, organisation, records, terms)
    if not found and not in_documents:
        first = terms[0][0]
        pool = records.filter(search_text__contains=f" {first}")[:FUZZY_POOL]
        found = [record for record in pool if _closeness(record, terms) >= FUZZY_RATIO]
    found.sort(key=lambda record: (-_closeness(record, terms), record.last_name,
                                   record.first_name))
    known = {record.pk for record in found}
    found += [record for record in in_documents if record.pk not in known]
    return found[:SEARCH_LIMIT]


def _records_by_documents(user, organisation, records, terms: list[str]
                          ) -> list[ResidentRecord]:
    """Records with a readable scanned document containing every term (as a word start),
    each carrying the newest such document (`matched_scan`) and where the words are
    (`matched_snippet`): one query."""
    from mairie.core.search.text import snippet

    from .models_scans import CounterScan

    condition = Q()
    for term in terms[:5]:
        condition &= Q(search_text__contains=f" {term}")
    scans = (scans_visible_to(user, organisation)
             .filter(condition, state=CounterScan.State.DONE,
                     record__in=records.values("pk"))
             .select_related("record", "original").order_by("-created_at")[:SEARCH_LIMIT * 2])
    matched: dict = {}
    for scan in scans:
        if scan.record_id in matched:
            continue
        record = scan.record
        record.matched_scan = scan  # type: ignore[attr-defined]
        record.matched_snippet = snippet(scan.text, terms)  # type: ignore[attr-defined]
        matched[record.pk] = record
    return list(matched.values())


def _closeness(record: ResidentRecord, terms: list[str]) -> float:
    names = text.words(f"{record.first_name} {record.last_name} {record.birth_name}")
    if not names:
        return 0.0
    return sum(max(difflib.SequenceMatcher(None, term, name).ratio() for name in names)
               for term in terms) / len(terms)


def _by_dossier_number(user, organisation, records, number: str) -> list[ResidentRecord]:
    from mairie.procedures.queries import dossiers_readable_by_agent

    dossier = (dossiers_readable_by_agent(user, organisation).filter(number=number)
               .values("applicant_id", "applicant_email").first())
    if dossier is None:
        return []
    condition = Q(pk__in=Interaction.objects.filter(dossier__number=number,
                                                    organisation=organisation)
                  .values("record_id"))
    if dossier["applicant_id"]:
        condition |= Q(account_id=dossier["applicant_id"])
    if dossier["applicant_email"]:
        condition |= Q(email__iexact=dossier["applicant_email"])
    return list(records.filter(condition)[:SEARCH_LIMIT])


def scans_visible_to(user, organisation, *, scope=None) -> QuerySet:
    """The documents scanned at the counter that the agent reads: those of their services
    (all of them for directors and administrators, as for the contacts) and those attached to
    a dossier they may open."""
    from mairie.procedures.queries import dossiers_readable_by_agent

    from .models_scans import CounterScan

    if not rules.is_agent_of(user, organisation):
        return CounterScan.objects.none()
    scans = CounterScan.objects.filter(organisation=organisation)
    if rules.reads_every_interaction(user, organisation):
        return scans
    return scans.filter(Q(service_id__in=rules.services_of(user, organisation))
                        | Q(dossier__in=dossiers_readable_by_agent(user, organisation,
                                                                   scope=scope)
                            .values("pk")))


def scan_for_agent(user, organisation, pk):
    found = (scans_visible_to(user, organisation).filter(pk=pk)
             .select_related("record", "original", "searchable_pdf", "scanned_by", "service",
                             "dossier__version__definition").first())
    if found is None:
        raise Http404
    found.organisation = organisation
    return found


def dossiers_to_attach(user, organisation, record: ResidentRecord) -> list:
    """The dossiers a scanned document may be attached to: the person's the agent may read,
    and the drafts the agent is filing for them (opened from this record)."""
    from mairie.procedures.models import Dossier

    drafts = (Dossier.objects.filter(
        organisation=organisation, filed_by=user, submitted_at__isnull=True,
        pk__in=Interaction.objects.filter(record=record, dossier__isnull=False)
        .values("dossier_id"))
        .select_related("version__definition").defer("page_inputs", "search_text"))
    return [*drafts, *dossiers_of_record(user, organisation, record)[:50]]


def interactions_visible_to(user, organisation) -> QuerySet[Interaction]:
    """The interactions logged by the agent's services (all of them for directors and
    administrators)."""
    if not rules.is_agent_of(user, organisation):
        return Interaction.objects.none()
    interactions = Interaction.objects.filter(organisation=organisation)
    if rules.reads_every_interaction(user, organisation):
        return interactions
    return interactions.filter(service_id__in=rules.services_of(user, organisation))


def dossiers_of_record(user, organisation, record: ResidentRecord, *, scope=None):
    """The resident's dossiers the agent may read (or filed for them): filed with their
    account, with their e-mail address, or linked to one of their interactions."""
    from mairie.procedures.queries import dossiers_readable_by_agent

    condition = Q(pk__in=Interaction.objects.filter(record=record, dossier__isnull=False)
                  .values("dossier_id"))
    if record.account_id:
        condition |= Q(applicant_id=record.account_id)
    if record.email:
        condition |= Q(applicant_email__iexact=record.email)
    from mairie.procedures.models import Dossier

    # Those the agent filed for the person too, even in a procedure they do not process.
    readable = dossiers_readable_by_agent(user, organisation, scope=scope).values("pk")
    filed = Dossier.objects.filter(organisation=organisation, filed_by=user).values("pk")
    allowed = Q(pk__in=readable) | Q(pk__in=filed)
    domains = _mandated_domains(user, record)
    if domains and record.account_id:  # followed under the person's mandate
        allowed |= Q(applicant_id=record.account_id,
                     version__definition__mandate_domain__in=domains)
    return (Dossier.objects.filter(organisation=organisation)
            .filter(allowed).filter(condition)
            .filter(submitted_at__isnull=False)
            .select_related("version__definition", "version__workflow")
            .defer("page_inputs", "search_text"))


def dossier_of_record(user, organisation, record: ResidentRecord, pk):
    """One of the resident's dossiers the agent may reach from the record
    (`dossiers_of_record`), with how: "process" (their inbox reads it), "filed" (they filed
    it for the person) or "mandate" (only under the person's mandate). Else 404."""
    from mairie.procedures.queries import dossiers_readable_by_agent

    dossier = dossiers_of_record(user, organisation, record).filter(pk=pk).first()
    if dossier is None:
        raise Http404
    if dossiers_readable_by_agent(user, organisation).filter(pk=dossier.pk).exists():
        return dossier, "process"
    if dossier.filed_by_id == user.pk:
        return dossier, "filed"
    return dossier, "mandate"


def _mandated_domains(user, record: ResidentRecord) -> set[str]:
    from django.utils import timezone

    from .models_mandates import Mandate

    return {domain for domains in Mandate.objects.filter(
        record=record, mediator=user, consented_at__isnull=False, revoked_at__isnull=True,
        expires_at__gt=timezone.now()).values_list("domains", flat=True)
        for domain in domains or []}


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # "interaction" | "dossier" | "scan" | "help" | "mandate" | "merge" | "created"
    obj: Any


def timeline_of(user, organisation, record: ResidentRecord, *, limit: int = 100
                ) -> list[TimelineItem]:
    """Everything about the resident the agent may see, newest first: interactions (mails
    included), dossiers, scanned documents, help requests, mandates (for mediators), merges
    and the record's creation (a bounded number of queries)."""
    from mairie.procedures.queries import AgentScope

    scope = AgentScope(user, organisation)  # read once for the dossiers and the scans
    items = [TimelineItem(i.happened_at, "interaction", i) for i in
             interactions_visible_to(user, organisation).filter(record=record)
             .select_related("service", "agent", "dossier", "mail_message")[:limit]]
    items += [TimelineItem(d.submitted_at, "dossier", d)
              for d in dossiers_of_record(user, organisation, record, scope=scope)[:limit]]
    items += [TimelineItem(s.created_at, "scan", s) for s in
              scans_visible_to(user, organisation, scope=scope).filter(record=record)
              .select_related(
                  "original", "searchable_pdf", "scanned_by", "service",
                  "dossier__version__definition")[:limit]]
    items += [TimelineItem(h.created_at, "help", h)
              for h in HelpRequest.objects.filter(record=record).select_related("taken_by")
              [:limit]]
    items += [TimelineItem(m.created_at, "mandate", m)  # for mediators only
              for m in mandates_for_mediator(user, organisation).filter(record=record)
              .select_related("mediator")[:limit]]
    items += [TimelineItem(m.created_at, "merge", m)
              for m in RecordMerge.objects.filter(kept=record).select_related(
                  "absorbed", "agent")[:limit]]
    items.append(TimelineItem(record.created_at, "created", record))
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def merges_of(record: ResidentRecord) -> QuerySet[RecordMerge]:
    return RecordMerge.objects.filter(kept=record).select_related("absorbed", "agent")


def help_requests_for(user, organisation) -> QuerySet[HelpRequest]:
    """The organisation's help requests, for those who answer them (`rules`)."""
    if not rules.handles_help_requests(user, organisation):
        return HelpRequest.objects.none()
    return (HelpRequest.objects.filter(organisation=organisation)
            .select_related("taken_by", "record"))


def help_request_for(user, organisation, pk) -> HelpRequest:
    found = help_requests_for(user, organisation).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def mandates_for_mediator(user, organisation) -> QuerySet:
    """The organisation's mandates, for the mediators who hold them (`services_mandates`)."""
    from .models_mandates import Mandate
    from .services_mandates import may_hold_mandates

    if not may_hold_mandates(user, organisation):
        return Mandate.objects.none()
    return (Mandate.objects.filter(organisation=organisation)
            .select_related("record", "mediator", "paper_copy"))


def mandate_for_mediator(user, organisation, pk):
    found = mandates_for_mediator(user, organisation).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def mandates_of_resident(user, organisation) -> QuerySet:
    """The mandates a signed-in resident gave (on their own records), with their journals."""
    from .models_mandates import Mandate

    if not getattr(user, "is_authenticated", False) or organisation is None:
        return Mandate.objects.none()
    return (Mandate.objects.filter(organisation=organisation, record__account=user)
            .select_related("mediator").prefetch_related("uses"))


def mail_visible_to(user, organisation) -> QuerySet:
    """The mail of the agent's services (every service for directors and administrators),
    inbound and outbound (decision 0467)."""
    from .models_mail import MailMessage

    services = rules.mail_services_of(user, organisation)
    if services is not None and not services:
        return MailMessage.objects.none()
    messages = MailMessage.objects.filter(organisation=organisation)
    if services is not None:
        messages = messages.filter(service_id__in=services)
    return messages.select_related("mailbox", "service")


def unmatched_mail_for(user, organisation) -> QuerySet:
    """Received mails not yet on a record, oldest first (the queue to attach)."""
    from .models_mail import MailMessage

    return (mail_visible_to(user, organisation)
            .filter(direction=MailMessage.Direction.INBOUND, record__isnull=True)
            .order_by("received_at"))


def mail_message_for(user, organisation, pk):
    found = (mail_visible_to(user, organisation).filter(pk=pk)
             .select_related("record", "agent").first())
    if found is None:
        raise Http404
    found.organisation = organisation
    return found


def mail_conversation(user, organisation, message) -> list:
    """The messages of `message`'s conversation the agent may read, oldest first, with their
    attachments (a fixed number of queries)."""
    root = message.conversation_root_id
    return list(mail_visible_to(user, organisation)
                .filter(Q(pk=root) | Q(thread_root_id=root))
                .select_related("agent", "raw")
                .prefetch_related("attachments__file").order_by("received_at"))


def mailboxes_for_admin(user, organisation) -> QuerySet:
    from .models_mail import ServiceMailbox

    if not rules.manages_mailboxes(user, organisation):
        return ServiceMailbox.objects.none()
    return ServiceMailbox.objects.filter(organisation=organisation).select_related("service")


def mailbox_for_admin(user, organisation, pk):
    found = mailboxes_for_admin(user, organisation).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found
