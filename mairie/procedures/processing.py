"""Processing around the workflow: assignment, labels, messages, private annotations, expert
opinions and correction requests. Every write runs in a transaction and is audited.

Who may do what comes from `rules.abilities(user, dossier)` (agents who play a workflow role
on the dossier process it; agents of a consulted service answer the opinion asked of them;
the applicant reads the thread and answers corrections). Timeline events carry `public`:
messages and corrections are shown to the applicant, everything else only to agents.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, prefetch_related_objects
from django.http import HttpRequest, QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mairie.core.audit.services import record_event
from mairie.core.files.purposes import register_purpose
from mairie.core.files.services import store_upload
from mairie.core.notifications.kinds import register_kind
from mairie.core.notifications.services import notify

from . import schema as schema_helpers
from . import services
from .files import DOSSIER_FILE_PURPOSE, DOSSIER_FILE_TYPES
from .models import (
    CorrectionRequest,
    Dossier,
    DossierAnnotation,
    DossierEvent,
    DossierFile,
    DossierMessage,
    Label,
    OpinionRequest,
)
from .queries import RoleHoldings
from .rules import abilities
from .services import StaleDossier

MESSAGE_FILE_PURPOSE = "procedures.message-file"
OPINION_FILE_PURPOSE = "procedures.opinion-file"
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
MESSAGE_MAX_CHARS = 5000
# Where the applicant's correction draft waits in `Dossier.page_inputs` (same shape as a page:
# input name → values) until they send it; `_FILES` holds the ids of files already stored.
CORRECTION_DRAFT = "_correction"
CORRECTION_DRAFT_FILES = "_correction_files"

KIND_MESSAGE = "procedures.message"
KIND_CORRECTION = "procedures.correction_requested"
KIND_CORRECTION_ANSWERED = "procedures.correction_answered"
KIND_OPINION_REQUESTED = "procedures.opinion_requested"
KIND_OPINION_GIVEN = "procedures.opinion_given"
KIND_ASSIGNED = "procedures.assigned"


class ProcessingRefused(ValidationError):
    """A processing action is refused; the message says why, in French."""


# --- Registration (AppConfig.ready) -------------------------------------------------------


def _can_read_message_file(user, stored_file) -> bool:
    from .queries import dossier_for_agent

    if not getattr(user, "is_authenticated", False):
        return False
    messages = DossierMessage.objects.filter(attachment=stored_file,
                                             organisation_id=stored_file.organisation_id)
    if messages.filter(dossier__applicant=user).exists():
        return True
    return any(_agent_may_read(user, stored_file.organisation, dossier_for_agent, pk)
               for pk in messages.values_list("dossier_id", flat=True)[:5])


def _can_read_opinion_file(user, stored_file) -> bool:
    from .queries import dossier_for_agent

    if not getattr(user, "is_authenticated", False):
        return False
    dossier_ids = OpinionRequest.objects.filter(
        answer_files=stored_file, organisation_id=stored_file.organisation_id
    ).values_list("dossier_id", flat=True)[:5]
    return any(_agent_may_read(user, stored_file.organisation, dossier_for_agent, pk)
               for pk in dossier_ids)


def _agent_may_read(user, organisation, dossier_for_agent, pk) -> bool:
    from django.http import Http404

    try:
        dossier = dossier_for_agent(user, organisation, pk)
    except Http404:
        return False
    can = abilities(user, dossier)
    return can["process"] or can["answer_opinion"]


def register() -> None:
    """Upload purposes and notification kinds of processing (called once at start-up)."""
    register_purpose(MESSAGE_FILE_PURPOSE, allowed=DOSSIER_FILE_TYPES,
                     max_bytes=ATTACHMENT_MAX_BYTES,
                     label=gettext_lazy("Pièce jointe d'un message sur un dossier"),
                     can_read=_can_read_message_file)
    register_purpose(OPINION_FILE_PURPOSE, allowed=DOSSIER_FILE_TYPES,
                     max_bytes=ATTACHMENT_MAX_BYTES,
                     label=gettext_lazy("Pièce jointe d'un avis sur un dossier"),
                     can_read=_can_read_opinion_file)
    register_kind(KIND_MESSAGE, gettext_lazy("Nouveau message sur un dossier"))
    register_kind(KIND_CORRECTION, gettext_lazy("Demande de correction d'un dossier"),
                  for_agents=False)
    register_kind(KIND_CORRECTION_ANSWERED, gettext_lazy("Corrections apportées à un dossier"),
                  for_residents=False)
    register_kind(KIND_OPINION_REQUESTED, gettext_lazy("Avis demandé sur un dossier"),
                  for_residents=False)
    register_kind(KIND_OPINION_GIVEN, gettext_lazy("Avis rendu sur un dossier"),
                  for_residents=False)
    register_kind(KIND_ASSIGNED, gettext_lazy("Dossier qui vous est attribué"),
                  for_residents=False)


# --- Helpers ------------------------------------------------------------------------------


def _timeline(dossier: Dossier, kind: str, actor, *, public: bool, **details: Any) -> None:
    DossierEvent.objects.create(organisation=dossier.organisation, dossier=dossier, kind=kind,
                                actor=actor if getattr(actor, "is_authenticated", False)
                                else None, details=details, public=public)


def _audit(dossier: Dossier, action: str, actor, request, **details: Any) -> None:
    record_event(organisation=dossier.organisation, action=f"procedures.{action}", actor=actor,
                 obj=dossier, object_label=dossier.number, request=request, details=details)


def _require(user, dossier: Dossier, ability: str) -> dict[str, bool]:
    if (not getattr(user, "is_authenticated", False)
            or user.organisation_id != dossier.organisation_id):
        raise PermissionDenied
    can = abilities(user, dossier)
    if not can.get(ability):
        raise PermissionDenied
    return can


def _clean_text(text: str, *, empty: str, max_chars: int = MESSAGE_MAX_CHARS) -> str:
    text = (text or "").strip()
    if not text:
        raise ProcessingRefused(empty, code="empty")
    if len(text) > max_chars:
        raise ProcessingRefused(_("Le texte dépasse %(max)s caractères.") % {"max": max_chars},
                                code="too_long")
    return text


def applicant_url(dossier: Dossier) -> str:
    """Where the applicant follows the dossier: their account page, or the tracking link."""
    if dossier.applicant_id:
        return reverse("procedures:dossier", args=[dossier.pk])
    return reverse("procedures:tracking", args=[dossier.tracking_code])


def _tell_applicant(dossier: Dossier, *, kind: str, title: str, body: str, actor) -> None:
    """In-app notification (and e-mail by the user's preferences) for an applicant with an
    account; otherwise an e-mail with the tracking link, once the transaction commits."""
    if dossier.applicant_id and dossier.applicant and dossier.applicant.is_active:
        notify(organisation=dossier.organisation, recipients=[dossier.applicant], kind=kind,
               title=title, body=body, url=applicant_url(dossier), actor=actor,
               about=dossier)
        return
    recipient = dossier.applicant_email
    if not recipient:
        return
    from mairie.core.notifications.emails import absolute_link

    context = {"dossier": dossier, "organisation": dossier.organisation, "title": title,
               "body": body, "url": absolute_link(dossier.organisation,
                                                  applicant_url(dossier))}
    text = render_to_string("procedures/email/processing.txt", context)
    transaction.on_commit(lambda: send_mail(title, text, None, [recipient]), robust=True)


def processors_of(dossier: Dossier, *, mappings: list | None = None) -> list:
    """The agents who play a workflow role on `dossier` (assignment choices, notifications),
    in one query whatever their number — the same rule as `queries.RoleHoldings`: a mapped
    role is played by the mapping's service (holders of its membership role when it names
    one), an unmapped role by every member of the owning service. `mappings`: the
    procedure's role mappings as (role, service id, membership role), when already read
    (`RoleHoldings.rows`)."""
    from mairie.core.users.models import User

    from .models import WorkflowRoleMapping

    definition = dossier.version.definition
    workflow = dossier.version.workflow
    roles = set(workflow.role_keys()) if hasattr(workflow, "role_keys") else set(workflow.roles)
    if mappings is None:
        mappings = list(WorkflowRoleMapping.objects.filter(definition=definition)
                        .values_list("role", "service_id", "membership_role"))
    condition = Q(pk__in=[])
    mapped: set[str] = set()
    for role, service_id, membership_role in mappings:
        if role not in roles:
            continue
        mapped.add(role)
        if membership_role:
            condition |= Q(memberships__service_id=service_id,
                           memberships__role=membership_role)
        else:
            condition |= Q(memberships__service_id=service_id)
    if roles - mapped:
        condition |= Q(memberships__service_id=definition.service_id)
    return list(User.objects.filter(organisation=dossier.organisation, is_active=True)
                .filter(condition).distinct().order_by("last_name", "first_name", "email"))


def _store(actor, dossier: Dossier, upload: UploadedFile | None, purpose: str, request):
    if upload is None:
        return None
    return store_upload(actor=actor, organisation=dossier.organisation, uploaded_file=upload,
                        purpose=purpose, request=request)


# --- Assignment -----------------------------------------------------------------------------


@transaction.atomic
def assign(*, actor, dossier: Dossier, to=None, request: HttpRequest | None = None) -> Dossier:
    """Give the dossier to `to` (an agent who plays a role on it), or release it (`to` None).
    Taking it oneself is `to=actor`."""
    _require(actor, dossier, "assign")
    if to is not None and to.pk not in {u.pk for u in processors_of(dossier)}:
        raise ProcessingRefused(_("Cet agent ne traite pas ce dossier : choisissez un agent "
                                  "des services qui y jouent un rôle."), code="not_processor")
    previous = dossier.assigned_to_id
    dossier.assigned_to = to
    if to is not None:
        dossier.assigned_service = dossier.assigned_service or dossier.version.definition.service
    dossier.save(update_fields=["assigned_to", "assigned_service", "updated_at"])
    details = {"to": str(to.pk) if to else None, "to_name": str(to) if to else "",
               "previous": str(previous) if previous else None}
    _timeline(dossier, "assigned", actor, public=False, **details)
    _audit(dossier, "dossier_assigned", actor, request, **details)
    if to is not None and to.pk != actor.pk:
        notify(organisation=dossier.organisation, recipients=[to], kind=KIND_ASSIGNED,
               title=_("Le dossier %(number)s vous est attribué") % {"number": dossier.number},
               url=reverse("procedures:agent-dossier", args=[dossier.pk]), actor=actor,
               about=dossier)
    return dossier


# --- Labels ---------------------------------------------------------------------------------


def labels_for(dossier: Dossier):
    """The labels an agent may put on `dossier`: its procedure's and the shared ones."""
    return Label.objects.filter(organisation=dossier.organisation).filter(
        Q(definition__isnull=True) | Q(definition_id=dossier.version.definition_id))


def labels_of(dossier: Dossier) -> tuple[list[Label], list[Label]]:
    """(the labels an agent may put on `dossier`, those it carries), by name, in one query."""
    carried = Exists(Dossier.labels.through.objects.filter(dossier_id=dossier.pk,
                                                           label_id=OuterRef("pk")))
    rows: list[Label] = list(
        Label.objects.filter(organisation=dossier.organisation).annotate(carried=carried)
        .filter(Q(definition__isnull=True) | Q(definition_id=dossier.version.definition_id)
                | Q(carried=True))
        .order_by("name"))
    usable = [label for label in rows
              if label.definition_id in (None, dossier.version.definition_id)]
    return usable, [label for label in rows if label.carried]  # type: ignore[attr-defined]


@transaction.atomic
def set_labels(*, actor, dossier: Dossier, labels, request: HttpRequest | None = None) -> None:
    """Replace the dossier's labels by `labels` (Label rows or ids usable on it)."""
    _require(actor, dossier, "label")
    wanted = {str(getattr(label, "pk", label)) for label in labels}
    allowed = {str(pk): pk for pk in labels_for(dossier).values_list("pk", flat=True)}
    if wanted - set(allowed):
        raise ProcessingRefused(_("Cette étiquette n'existe pas pour cette démarche."),
                                code="unknown_label")
    before = {str(pk) for pk in dossier.labels.values_list("pk", flat=True)}
    if before == wanted:
        return
    dossier.labels.set([allowed[pk] for pk in wanted])
    names = sorted(labels_for(dossier).filter(pk__in=[allowed[pk] for pk in wanted])
                   .values_list("name", flat=True))
    _timeline(dossier, "labels", actor, public=False, labels=names)
    _audit(dossier, "dossier_labelled", actor, request, labels=names)


def _label_manager(actor, organisation) -> None:
    from mairie.core.organisation.queries import roles_of

    if (not getattr(actor, "is_authenticated", False)
            or actor.organisation_id != organisation.pk or not roles_of(actor, organisation)):
        raise PermissionDenied


@transaction.atomic
def save_label(*, actor, organisation, name: str, colour: str, definition=None,
               label: Label | None = None, request: HttpRequest | None = None) -> Label:
    """Create a label (or rename/recolour `label`). Names are unique in the organisation."""
    _label_manager(actor, organisation)
    if label is not None and label.organisation_id != organisation.pk:
        raise PermissionDenied
    if definition is not None and definition.organisation_id != organisation.pk:
        raise PermissionDenied
    name = _clean_text(name, empty=_("Donnez un nom à l'étiquette."), max_chars=60)
    if colour not in Label.Colour.values:
        raise ProcessingRefused(_("Choisissez une couleur de la liste."), code="colour")
    # Compared in Python: SQLite's case-insensitive matching ignores accented capitals.
    others = Label.objects.filter(organisation=organisation)
    if label is not None:
        others = others.exclude(pk=label.pk)
    if name.casefold() in {other.casefold() for other in others.values_list("name", flat=True)}:
        raise ProcessingRefused(_("Une étiquette porte déjà ce nom."), code="duplicate")
    created = label is None
    if created:
        label = Label(organisation=organisation)
    assert label is not None
    label.name, label.colour, label.definition = name, colour, definition
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise ProcessingRefused(_("Une étiquette porte déjà ce nom."),
                                code="duplicate") from None
    record_event(organisation=organisation, actor=actor, obj=label, request=request,
                 action="procedures.label_created" if created else "procedures.label_changed",
                 details={"name": name, "colour": colour,
                          "definition": str(definition.pk) if definition else None})
    return label


@transaction.atomic
def delete_label(*, actor, label: Label, request: HttpRequest | None = None) -> None:
    _label_manager(actor, label.organisation)
    record_event(organisation=label.organisation, action="procedures.label_deleted",
                 actor=actor, obj=label, request=request, details={"name": label.name})
    label.delete()


# --- Messages -------------------------------------------------------------------------------


def _post_message(actor, dossier: Dossier, body: str, attachment: UploadedFile | None,
                  request: HttpRequest | None, *, from_applicant: bool) -> DossierMessage:
    """Store one message of the thread (and its checked attachment), in the timeline and the
    audit trail; the callers say who may write and whom to tell."""
    body = _clean_text(body, empty=_("Écrivez votre message."))
    stored = _store(actor, dossier, attachment, MESSAGE_FILE_PURPOSE, request)
    message = DossierMessage.objects.create(organisation=dossier.organisation, dossier=dossier,
                                            author=actor, from_applicant=from_applicant,
                                            body=body, attachment=stored)
    _timeline(dossier, "message", actor, public=True, from_applicant=from_applicant,
              message=str(message.pk))
    _audit(dossier, "message_received" if from_applicant else "message_sent", actor, request,
           message=str(message.pk), attachment=bool(stored))
    return message


@transaction.atomic
def send_agent_message(*, actor, dossier: Dossier, body: str,
                       attachment: UploadedFile | None = None,
                       request: HttpRequest | None = None) -> DossierMessage:
    """An agent writes to the applicant, who is notified (in-app or by e-mail)."""
    _require(actor, dossier, "message")
    message = _post_message(actor, dossier, body, attachment, request, from_applicant=False)
    _tell_applicant(dossier, kind=KIND_MESSAGE, actor=actor, body=body,
                    title=_("Nouveau message sur votre dossier %(number)s")
                    % {"number": dossier.number})
    return message


@transaction.atomic
def send_applicant_message(*, actor, dossier: Dossier, body: str,
                           attachment: UploadedFile | None = None,
                           request: HttpRequest | None = None) -> DossierMessage:
    """The applicant (signed in, or holding the tracking code: the view checked it) writes to
    the agents; the assigned agent, or else every agent processing the dossier, is told."""
    if dossier.submitted_at is None:
        raise PermissionDenied
    actor = actor if getattr(actor, "is_authenticated", False) else None
    if dossier.applicant_id and (actor is None or actor.pk != dossier.applicant_id):
        raise PermissionDenied
    message = _post_message(actor, dossier, body, attachment, request, from_applicant=True)
    recipients = [dossier.assigned_to] if dossier.assigned_to_id else processors_of(dossier)
    recipients = [user for user in recipients if user is not None and user.is_active]
    if recipients:
        notify(organisation=dossier.organisation, recipients=recipients, kind=KIND_MESSAGE,
               title=_("Message du demandeur sur le dossier %(number)s")
               % {"number": dossier.number}, body=body[:300],
               url=reverse("procedures:agent-dossier-tab", args=[dossier.pk, "messagerie"]),
               actor=actor, about=dossier)
    return message


# --- Private annotations ----------------------------------------------------------------------


@transaction.atomic
def annotate(*, actor, dossier: Dossier, body: str,
             request: HttpRequest | None = None) -> DossierAnnotation:
    """A note between the agents who process the dossier, never shown to the applicant (nor
    to a consulted expert, who may only read and answer the opinion asked of them)."""
    _require(actor, dossier, "process")
    body = _clean_text(body, empty=_("Écrivez l'annotation."))
    note = DossierAnnotation.objects.create(organisation=dossier.organisation, dossier=dossier,
                                            author=actor, body=body)
    _timeline(dossier, "annotation", actor, public=False)
    _audit(dossier, "annotation_added", actor, request, annotation=str(note.pk))
    return note


# --- Expert opinions --------------------------------------------------------------------------


@transaction.atomic
def request_opinion(*, actor, dossier: Dossier, service, question: str,
                    request: HttpRequest | None = None) -> OpinionRequest:
    """Ask another service of the organisation for its opinion; its agents are notified and
    may read the dossier and answer."""
    from mairie.core.users.models import User

    _require(actor, dossier, "request_opinion")
    if service is None or service.organisation_id != dossier.organisation_id:
        raise ProcessingRefused(_("Choisissez un service de la collectivité."), code="service")
    if service.pk == dossier.version.definition.service_id:
        raise ProcessingRefused(_("Le service qui instruit le dossier ne peut pas se demander "
                                  "son propre avis : choisissez un autre service."),
                                code="own_service")
    question = _clean_text(question, empty=_("Écrivez la question posée au service."))
    opinion = OpinionRequest.objects.create(organisation=dossier.organisation, dossier=dossier,
                                            requested_by=actor, service=service,
                                            question=question)
    _timeline(dossier, "opinion_requested", actor, public=False, service=service.name,
              opinion=str(opinion.pk))
    _audit(dossier, "opinion_requested", actor, request, service=str(service.pk),
           opinion=str(opinion.pk))
    experts = User.objects.filter(organisation=dossier.organisation, is_active=True,
                                  memberships__service=service).distinct()
    notify(organisation=dossier.organisation, recipients=list(experts),
           kind=KIND_OPINION_REQUESTED, actor=actor, body=question[:300], about=dossier,
           title=_("Votre avis est demandé sur le dossier %(number)s")
           % {"number": dossier.number},
           url=reverse("procedures:agent-dossier-tab", args=[dossier.pk, "notes-et-avis"]))
    return opinion


@transaction.atomic
def answer_opinion(*, actor, opinion: OpinionRequest, answer: str,
                   files: list[UploadedFile] | None = None,
                   request: HttpRequest | None = None) -> OpinionRequest:
    """An agent of the consulted service gives the opinion (text and optional files)."""
    from mairie.core.organisation.models import Membership

    dossier = opinion.dossier
    _require(actor, dossier, "answer_opinion")
    if not Membership.objects.filter(user=actor, service_id=opinion.service_id).exists():
        raise PermissionDenied
    current = OpinionRequest.objects.select_for_update().get(pk=opinion.pk)
    if current.answered_at is not None:
        raise ProcessingRefused(_("Cet avis a déjà été donné."), code="answered")
    answer = _clean_text(answer, empty=_("Écrivez votre avis."))
    stored = [_store(actor, dossier, upload, OPINION_FILE_PURPOSE, request)
              for upload in files or []]
    current.answer, current.answered_by, current.answered_at = answer, actor, timezone.now()
    current.save(update_fields=["answer", "answered_by", "answered_at", "updated_at"])
    if stored:
        current.answer_files.add(*stored)
    _timeline(dossier, "opinion_given", actor, public=False, service=current.service.name,
              opinion=str(current.pk))
    _audit(dossier, "opinion_given", actor, request, opinion=str(current.pk),
           files=len(stored))
    from .automation import on_event  # issue 4: automatic transitions

    on_event("opinion_answered", dossier=dossier, request=request)
    if current.requested_by and current.requested_by.is_active:
        notify(organisation=dossier.organisation, recipients=[current.requested_by],
               kind=KIND_OPINION_GIVEN, actor=actor, about=dossier,
               title=_("Avis rendu sur le dossier %(number)s") % {"number": dossier.number},
               url=reverse("procedures:agent-dossier-tab", args=[dossier.pk, "notes-et-avis"]))
    return current


# --- Correction requests -------------------------------------------------------------------


def open_correction(dossier: Dossier) -> CorrectionRequest | None:
    return (CorrectionRequest.objects.filter(dossier=dossier, answered_at__isnull=True)
            .select_related("requested_by").first())


def correctable_fields(dossier: Dossier) -> list[dict]:
    """The top-level fields of the dossier's version an agent may unlock (those with input)."""
    from .fieldtypes import get_field_type

    found = []
    for _page, field in schema_helpers.iter_fields(dossier.version.schema):
        try:
            has_input = get_field_type(field.get("type", "")).has_input
        except Exception:  # noqa: BLE001 — an unknown type is simply not offered
            has_input = False
        if has_input:
            found.append(field)
    return found


@transaction.atomic
def request_correction(*, actor, dossier: Dossier, fields: list[str], message: str,
                       return_state: str, request: HttpRequest | None = None
                       ) -> CorrectionRequest:
    """Ask the applicant to correct `fields` (keys of the version's fields); they alone are
    unlocked until the applicant answers, then the dossier goes to `return_state`."""
    _require(actor, dossier, "process")
    known = {field["key"] for field in correctable_fields(dossier)}
    fields = [str(key) for key in fields or []]
    if not fields:
        raise ProcessingRefused(_("Choisissez au moins un champ à faire corriger."),
                                code="no_field")
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ProcessingRefused(_("Ces champs n'existent pas dans le formulaire de ce dossier "
                                  ": %(keys)s.") % {"keys": ", ".join(unknown)},
                                code="unknown_field")
    message = _clean_text(message, empty=_("Expliquez au demandeur ce qu'il doit corriger."))
    if return_state not in {s.get("key") for s in dossier.version.workflow.states}:
        raise ProcessingRefused(_("L'état de retour n'existe pas dans le circuit."),
                                code="return_state")
    if CorrectionRequest.objects.filter(dossier=dossier, answered_at__isnull=True).exists():
        raise ProcessingRefused(_("Une demande de correction est déjà en cours sur ce dossier "
                                  ": attendez la réponse du demandeur."), code="already_open")
    try:
        with transaction.atomic():
            correction = CorrectionRequest.objects.create(
                organisation=dossier.organisation, dossier=dossier, requested_by=actor,
                message=message, fields=list(dict.fromkeys(fields)),
                return_state=return_state)
    except IntegrityError:
        raise ProcessingRefused(_("Une demande de correction est déjà en cours sur ce dossier "
                                  ": attendez la réponse du demandeur."),
                                code="already_open") from None
    labels = [f.get("label") or f["key"] for f in correctable_fields(dossier)
              if f["key"] in correction.fields]
    _timeline(dossier, "correction_requested", actor, public=True, fields=labels,
              correction=str(correction.pk))
    _audit(dossier, "correction_requested", actor, request, fields=correction.fields,
           correction=str(correction.pk))
    _tell_applicant(dossier, kind=KIND_CORRECTION, actor=actor, body=message,
                    title=_("Votre dossier %(number)s est à compléter")
                    % {"number": dossier.number})
    return correction


def correction_page(correction: CorrectionRequest) -> dict:
    """The pseudo-page of the form holding only the unlocked fields, in form order."""
    wanted = set(correction.fields)
    return {"key": CORRECTION_DRAFT, "title": _("Corrections demandées"),
            "fields": [copy.deepcopy(field) for field in correctable_fields(correction.dossier)
                       if field["key"] in wanted]}


def locked_answers(correction: CorrectionRequest) -> list[tuple[str, str]]:
    """The other answers of the dossier, shown read-only next to the correction form."""
    unlocked = set(correction.fields)
    schema = correction.dossier.version.schema
    kept = {"pages": [{**page, "fields": [field for field in schema_helpers.fields_of(page)
                                          if field.get("key") not in unlocked]}
                      for page in schema_helpers.pages_of(schema)]}
    return schema_helpers.answers_summary(kept, correction.dossier.data)


def _draft_files(dossier: Dossier) -> dict[str, str]:
    return {name: values[0] for name, values in
            (dossier.page_inputs.get(CORRECTION_DRAFT_FILES) or {}).items() if values}


def correction_form(correction: CorrectionRequest, *, data=None, files=None, user=None,
                    show_answers: bool = True):
    """The form of the unlocked fields: bound to `data` when posted, else to the saved draft
    (re-validated, so its errors show again), else prefilled with the current answers. The
    same field types and validation as filing (`schema.PageForm`).

    `show_answers=False` (the tracking link, decision 0313: a link that travels shows no
    answers) leaves the unlocked fields empty: the applicant types them again."""
    dossier = correction.dossier
    answers = dict(dossier.data)
    if not show_answers:
        answers = {key: value for key, value in answers.items()
                   if key not in set(correction.fields)}
    answers.update(_draft_files(dossier))
    page = correction_page(correction)
    if data is None and CORRECTION_DRAFT in dossier.page_inputs:
        data = QueryDict(mutable=True)
        for name, values in dossier.page_inputs[CORRECTION_DRAFT].items():
            data.setlist(name, values)
        files = {}
        form = schema_helpers.PageForm(schema=dossier.version.schema, page=page,
                                       answers=answers, data=data, files=files, user=user)
        form.is_valid()
        return form
    return schema_helpers.PageForm(schema=dossier.version.schema, page=page, answers=answers,
                                   data=data, files=files, user=user)


def _correction_actor(actor, dossier: Dossier):
    """The applicant answering: signed in as the dossier's applicant, or anonymous for an
    anonymous dossier (the view checked the tracking code)."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    if dossier.applicant_id and (actor is None or actor.pk != dossier.applicant_id):
        raise PermissionDenied
    return actor


def _store_correction_uploads(actor, dossier: Dossier, form, request) -> dict[str, str]:
    stored_ids = {}
    for name, upload in form.pending_uploads.items():
        stored = store_upload(actor=actor, organisation=dossier.organisation,
                              uploaded_file=upload, purpose=DOSSIER_FILE_PURPOSE,
                              request=request)
        DossierFile.objects.create(organisation=dossier.organisation, dossier=dossier,
                                   field_key=name, stored_file=stored)
        form.set_stored_file(name, stored.pk)
        stored_ids[name] = str(stored.pk)
    return stored_ids


def _typed(form) -> dict[str, list[str]]:
    skip = {"csrfmiddlewaretoken", "lock_version", "action"}
    return {name: form.data.getlist(name) for name in form.data
            if name in form.fields and name not in skip}


def _locked(dossier: Dossier, lock_version) -> Dossier:
    current = Dossier.objects.select_for_update(of=("self",)).select_related(
        "version__workflow", "version__definition", "organisation").get(pk=dossier.pk)
    try:
        expected = int(lock_version)
    except (TypeError, ValueError):
        expected = -1
    if current.lock_version != expected:
        raise StaleDossier(current)
    return current


@transaction.atomic
def save_correction_draft(*, actor, correction: CorrectionRequest, form, lock_version,
                          request: HttpRequest | None = None) -> Dossier:
    """Keep what the applicant typed for the correction (valid or not) and the files they
    chose, without changing the dossier's answers yet."""
    dossier = correction.dossier
    actor = _correction_actor(actor, dossier)
    if correction.answered_at is not None:
        raise ProcessingRefused(_("Cette demande de correction est déjà close."),
                                code="closed")
    current = _locked(dossier, lock_version)
    stored_ids = _store_correction_uploads(actor, current, form, request)
    inputs = dict(current.page_inputs)
    inputs[CORRECTION_DRAFT] = _typed(form)
    draft_files = dict(inputs.get(CORRECTION_DRAFT_FILES) or {})
    draft_files.update({name: [pk] for name, pk in stored_ids.items()})
    inputs[CORRECTION_DRAFT_FILES] = draft_files
    Dossier.objects.filter(pk=current.pk).update(
        page_inputs=inputs, lock_version=F("lock_version") + 1, updated_at=timezone.now())
    current.refresh_from_db()
    _audit(current, "correction_draft_saved", actor, request, correction=str(correction.pk),
           fields=sorted(form.fields), files=len(stored_ids))
    correction.dossier = current
    return current


def _page_of_field(schema: dict, key: str) -> str | None:
    for page, field in schema_helpers.iter_fields(schema):
        if field.get("key") == key:
            return page.get("key")
    return None


@transaction.atomic
def answer_correction(*, actor, correction: CorrectionRequest, form, lock_version,
                      request: HttpRequest | None = None) -> Dossier:
    """Store the corrected answers (only the unlocked fields, validated like filing) and
    files into the dossier, close the request and move the dossier back to its return state.

    `form` is `correction_form(...)` bound to the post: it contains the unlocked fields only,
    so anything else posted is ignored. Refuses an invalid form (`ProcessingRefused`, the form
    keeps its errors) and a stale `lock_version` (`StaleDossier`)."""
    from . import workflow

    dossier = correction.dossier
    actor = _correction_actor(actor, dossier)
    current_request = CorrectionRequest.objects.select_for_update().get(pk=correction.pk)
    if current_request.answered_at is not None:
        raise ProcessingRefused(_("Cette demande de correction est déjà close."),
                                code="closed")
    current = _locked(dossier, lock_version)
    if not form.is_valid():
        raise ProcessingRefused(_("Certaines réponses sont manquantes ou incorrectes : "
                                  "corrigez les champs indiqués."), code="invalid")
    _store_correction_uploads(actor, current, form, request)
    allowed = set(current_request.fields)
    answers = {key: value for key, value in form.answers.items() if key in allowed}
    data = {**current.data, **copy.deepcopy(answers)}
    inputs = dict(current.page_inputs)
    typed = _typed(form)
    for name, values in typed.items():
        page_key = _page_of_field(current.version.schema, name.split("-")[0])
        if page_key:
            inputs.setdefault(page_key, {})[name] = values
    inputs.pop(CORRECTION_DRAFT, None)
    inputs.pop(CORRECTION_DRAFT_FILES, None)
    Dossier.objects.filter(pk=current.pk).update(
        data=data, page_inputs=inputs, lock_version=F("lock_version") + 1,
        updated_at=timezone.now())
    current.refresh_from_db()
    current_request.answered_at, current_request.answered_by = timezone.now(), actor
    current_request.save(update_fields=["answered_at", "answered_by", "updated_at"])
    labels = [f.get("label") or f["key"] for f in correctable_fields(current)
              if f["key"] in allowed]
    _timeline(current, "correction_answered", actor, public=True, fields=labels,
              correction=str(current_request.pk))
    _audit(current, "correction_answered", actor, request, correction=str(current_request.pk),
           fields=sorted(answers))
    services.update_search_text(current)  # the inbox finds the dossier by its new answers
    current = workflow.enter_state(actor=actor, dossier=current,
                                   state=current_request.return_state,
                                   reason="correction_answered", request=request)
    from .automation import on_event  # issue 4: automatic transitions

    on_event("correction_answered", dossier=current, request=request)
    recipients = ([current_request.requested_by]
                  if current_request.requested_by and current_request.requested_by.is_active
                  else processors_of(current))
    if recipients:
        notify(organisation=current.organisation, recipients=recipients,
               kind=KIND_CORRECTION_ANSWERED, actor=actor, about=current,
               title=_("Le demandeur a corrigé le dossier %(number)s")
               % {"number": current.number},
               url=reverse("procedures:agent-dossier", args=[current.pk]))
    return current


# --- Reads for the pages --------------------------------------------------------------------


def messages_of(dossier: Dossier):
    return (DossierMessage.objects.filter(dossier=dossier, organisation=dossier.organisation)
            .select_related("author", "attachment").order_by("created_at"))


def public_events_of(dossier: Dossier):
    return (DossierEvent.objects.filter(dossier=dossier, organisation=dossier.organisation,
                                        public=True)
            .select_related("actor").order_by("at"))


def _service_ids_of(user) -> set:
    """The services `user` belongs to in their own organisation (read once per request)."""
    from mairie.core.organisation.queries import membership_pairs

    return {service for service, _role in membership_pairs(user)}


def agent_context(request, dossier, *, tab: str = "", bound: dict | None = None) -> dict:
    """Context of the processing parts of the agent's dossier page, for its tab (views_agent):
    "" the request (assignment, labels, an open correction), "messagerie" (the thread),
    "notes-et-avis" (private annotations and opinions); only the abilities for any other.
    Each tab reads only what it shows.

    `bound` carries forms re-shown with their errors after a refused post (see
    views_processing: the post redirects to the form's tab with what was typed kept in the
    session)."""
    from .forms_processing import (
        AnnotationForm,
        AssignForm,
        LabelsForm,
        MessageForm,
        OpinionAnswerForm,
        OpinionRequestForm,
    )

    if bound is None:
        bound = pop_failed_post(request, dossier)
    can = abilities(request.user, dossier)
    context: dict[str, Any] = {"processing_can": can}
    if not (can["process"] or can["answer_opinion"]):
        return context
    if tab == "notes-et-avis":
        opinions = list(OpinionRequest.objects.filter(dossier=dossier,
                                                      organisation=dossier.organisation)
                        .select_related("service", "requested_by", "answered_by")
                        .order_by("created_at"))
        # Only an answered opinion carries files: one more query, and only then.
        prefetch_related_objects([o for o in opinions if o.answered_at], "answer_files")
        mine = _service_ids_of(request.user) if opinions else set()
        if not can["process"]:
            # A consulted expert sees only the opinions asked of their own services.
            opinions = [o for o in opinions if o.service_id in mine]
        for opinion in opinions:
            if opinion.service_id in mine and (opinion.answered_at is None
                                                or not can["process"]):
                opinion.answer_form = (  # type: ignore[attr-defined]
                    bound.get(f"opinion-{opinion.pk}")
                    or OpinionAnswerForm(prefix=f"opinion-{opinion.pk}"))
        context["opinions"] = opinions
        if can["process"]:
            context.update({
                "annotations": list(dossier.annotations.select_related("author")
                                    .order_by("created_at")),
                "annotation_form": bound.get("annotation") or AnnotationForm(),
                "opinion_form": bound.get("opinion") or OpinionRequestForm(
                    services=opinion_services(dossier)),
            })
        return context
    if not can["process"] or tab not in ("", "messagerie"):
        return context  # e.g. the history tab: nothing of processing to show
    if tab == "messagerie":
        context.update(thread=list(messages_of(dossier)),
                       message_form=bound.get("message") or MessageForm())
        return context
    rows = RoleHoldings.of(request.user, dossier.organisation).rows
    processors = processors_of(
        dossier, mappings=None if rows is None else rows.get(dossier.version.definition_id, []))
    # Read only when there is one (the dossier page annotates `has_open_correction`).
    correction = open_correction(dossier) if getattr(dossier, "has_open_correction",
                                                     True) else None
    available_labels, current_labels = labels_of(dossier)
    context.update({
        "assign_form": bound.get("assign") or AssignForm(processors=processors),
        "labels_form": bound.get("labels") or LabelsForm(
            labels=available_labels, initial={"labels": [str(lb.pk) for lb in current_labels]}),
        "current_labels": current_labels,
        "open_correction": correction,
        "correction_labels": [f.get("label") or f["key"] for f in correctable_fields(dossier)
                              if correction and f["key"] in correction.fields],
    })
    return context


def opinion_services(dossier: Dossier):
    from mairie.core.organisation.models import Service

    return (Service.objects.filter(organisation=dossier.organisation)
            .exclude(pk=dossier.version.definition.service_id).order_by("name"))


FAILED_POST = "procedures_processing_failed"


def remember_failed_post(request, dossier: Dossier, form_name: str, data: dict,
                         errors=()) -> None:
    """Keep a refused post's text input (never a file) and the service's messages for the
    redirect to the dossier page, which shows them again."""
    request.session[FAILED_POST] = {"dossier": str(dossier.pk), "form": form_name,
                                    "data": data, "errors": [str(e) for e in errors]}


def pop_failed_post(request, dossier: Dossier) -> dict:
    from .forms_processing import bound_form_for

    failed = request.session.pop(FAILED_POST, None) if hasattr(request, "session") else None
    if not failed or failed.get("dossier") != str(dossier.pk):
        return {}
    form = bound_form_for(failed["form"], failed["data"], dossier=dossier, user=request.user)
    if form is None:
        return {}
    form.is_valid()
    for error in failed.get("errors", []):
        form.add_error(None, error)
    return {failed["form"]: form}


def applicant_context(request, dossier) -> dict:
    """What the applicant's pages show of processing: the thread, the open correction and
    the public history (never annotations, labels, opinions or private events)."""
    return {"thread": list(messages_of(dossier)),
            "open_correction": open_correction(dossier),
            "public_events": list(public_events_of(dossier))}


def public_state_label(dossier: Dossier) -> str:
    """The state as the applicant reads it (`public_label`, else the state's label)."""
    for state in dossier.version.workflow.states:
        if state.get("key") == dossier.state:
            return state.get("public_label") or state.get("label") or dossier.state
    return dossier.state
