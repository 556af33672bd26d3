"""Every write of the procedures engine: publishing a version, starting, saving and submitting
a dossier. Each runs in a transaction and leaves an audit event; views never save models.

Drafts are saved page by page and keep whatever the applicant typed, valid or not: losing
answers because one field is wrong is the first reason people give up on an online form.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event
from mairie.core.files.services import store_upload

from . import schema as schema_helpers
from .files import DOSSIER_FILE_PURPOSE
from .models import (
    Audience,
    Dossier,
    DossierEvent,
    DossierFile,
    DossierNumberCounter,
    ProcedureDefinition,
    ProcedureVersion,
    Workflow,
)


class StaleDossier(Exception):
    """The dossier was saved elsewhere (another tab, another device) since this page was
    loaded: nothing was overwritten."""

    def __init__(self, dossier: Dossier):
        self.dossier = dossier
        super().__init__(_("Ce dossier a été modifié ailleurs (dans un autre onglet ou sur un "
                           "autre appareil) depuis l'affichage de cette page : vos saisies de "
                           "cette page n'ont pas été enregistrées. Vérifiez la page puis "
                           "enregistrez à nouveau."))


class SubmissionRefused(ValidationError):
    """The dossier cannot be submitted; the message says why, in French."""


class PageInvalid(ValidationError):
    """Raised by `submit_dossier` when a visible page still has errors; `page_key` says which."""

    def __init__(self, message, *, page_key: str):
        self.page_key = page_key
        super().__init__(message)


def _org_of(actor, organisation) -> None:
    if (getattr(actor, "is_authenticated", False) and not actor.is_superuser
            and actor.organisation_id != organisation.pk):
        raise PermissionDenied


# --- Publishing --------------------------------------------------------------------------


@transaction.atomic
def publish_version(*, actor, definition: ProcedureDefinition, schema: dict,
                    workflow: Workflow, request: HttpRequest | None = None,
                    draft: ProcedureVersion | None = None) -> ProcedureVersion:
    """Freeze `schema` as the next version of `definition` and make it the one residents
    fill. Dossiers already started keep their own version. Refuses an invalid schema with the
    validator's French messages. `draft` is the builder's unpublished version row: it becomes
    the published version (numbered after the last published one) instead of a new row."""
    _org_of(actor, definition.organisation)
    if workflow.organisation_id != definition.organisation_id:
        raise PermissionDenied
    errors = schema_helpers.validate_schema(schema)
    if errors:
        raise ValidationError(errors)
    workflow.full_clean()
    from .workflow import check_guards_against_schema  # the engine checks its guards

    errors = check_guards_against_schema(workflow, schema)
    if errors:
        raise ValidationError(errors)
    definition = ProcedureDefinition.objects.select_for_update().get(pk=definition.pk)
    publisher = actor if getattr(actor, "is_authenticated", False) else None
    if draft is not None:
        version = ProcedureVersion.objects.select_for_update().get(
            pk=draft.pk, definition=definition, published_at__isnull=True)
        last = (definition.versions.filter(published_at__isnull=False).order_by("-number")
                .values_list("number", flat=True).first())
        version.number = max((last or 0) + 1, version.number)
        version.schema, version.workflow = copy.deepcopy(schema), workflow
        version.published_at, version.published_by = timezone.now(), publisher
        version.save()
    else:
        last = definition.versions.order_by("-number").values_list("number", flat=True).first()
        version = ProcedureVersion.objects.create(
            organisation=definition.organisation, definition=definition,
            number=(last or 0) + 1, schema=copy.deepcopy(schema), workflow=workflow,
            published_at=timezone.now(), published_by=publisher)
    definition.current_version = version
    definition.save(update_fields=["current_version", "updated_at"])
    record_event(organisation=definition.organisation, action="procedures.version_published",
                 actor=actor, obj=version, object_label=str(version), request=request,
                 details={"definition": str(definition.pk), "number": version.number,
                          "workflow": str(workflow.pk)})
    return version


# --- Filing ------------------------------------------------------------------------------


def filing_refusal(definition: ProcedureDefinition, user) -> str | None:
    """Why `user` may not start or submit `definition` now, in French; None if they may."""
    if definition.current_version_id is None:
        return _("Cette démarche n'est pas publiée.")
    now = timezone.now()
    if definition.opens_at and now < definition.opens_at:
        return _("Cette démarche n'est pas encore ouverte.")
    if definition.closes_at and now >= definition.closes_at:
        return _("Cette démarche est close depuis le %(date)s.") % {
            "date": timezone.localtime(definition.closes_at).strftime("%d/%m/%Y")}
    authenticated = getattr(user, "is_authenticated", False)
    if definition.audience == Audience.RESIDENTS and not authenticated:
        return _("Connectez-vous pour faire cette démarche.")
    if definition.audience == Audience.AGENTS:
        from mairie.core.organisation.queries import roles_of

        if not authenticated or not roles_of(user, definition.organisation):
            return _("Cette démarche est réservée aux agents.")
    if definition.max_submissions is not None:
        filed = Dossier.objects.filter(version__definition=definition,
                                       submitted_at__isnull=False).count()
        if filed >= definition.max_submissions:
            return _("Cette démarche a atteint le nombre maximal de dossiers qu'elle accepte.")
    return None


def _timeline(dossier: Dossier, kind: str, actor, **details: Any) -> None:
    DossierEvent.objects.create(organisation=dossier.organisation, dossier=dossier, kind=kind,
                                actor=actor if getattr(actor, "is_authenticated", False)
                                else None, details=details)


def add_agent_event(*, actor, dossier: Dossier, kind: str, details: dict[str, Any]) -> None:
    """A line of the dossier's history that only agents see, written by another module about
    the dossier (crm: a document scanned at the counter and attached to it, decision 0469).
    `kind` has a describer (`events.register_describer`); the caller checked the actor may
    act on the dossier and audits its own action."""
    if dossier.organisation_id != getattr(actor, "organisation_id", None):
        raise PermissionDenied
    DossierEvent.objects.create(organisation_id=dossier.organisation_id, dossier=dossier,
                                kind=kind, actor=actor, public=False, details=details)


def _prefilled(version: ProcedureVersion, user) -> dict[str, Any]:
    """Answers taken from the resident's account, for fields that ask for them."""
    if not getattr(user, "is_authenticated", False):
        return {}
    answers = {}
    for _page, field in schema_helpers.iter_fields(version.schema):
        source = field.get("prefill") or ""
        if source.startswith("user."):
            value = getattr(user, source.removeprefix("user."), "")
            if value:
                answers[field["key"]] = value
    return answers


@transaction.atomic
def start_dossier(*, actor_or_none, definition: ProcedureDefinition,
                  request: HttpRequest | None = None) -> Dossier:
    """Open a draft of the published version of `definition` for the actor (or an anonymous
    visitor, when the procedure allows it)."""
    actor = actor_or_none if getattr(actor_or_none, "is_authenticated", False) else None
    _org_of(actor, definition.organisation)
    refusal = filing_refusal(definition, actor)
    if refusal:
        raise SubmissionRefused(refusal)
    version = definition.current_version
    assert version is not None  # filing_refusal refuses an unpublished procedure
    pages = schema_helpers.visible_pages(version.schema, {})
    dossier = Dossier.objects.create(
        organisation=definition.organisation, version=version, applicant=actor,
        applicant_email=actor.email if actor else "", data=_prefilled(version, actor),
        current_page=pages[0]["key"] if pages else "",
        state=version.workflow.first_state_of_kind(Workflow.Kind.DRAFT))
    _timeline(dossier, "started", actor)
    record_event(organisation=definition.organisation, action="procedures.dossier_started",
                 actor=actor, obj=dossier, object_label=definition.title, request=request,
                 details={"version": version.number, "anonymous": actor is None})
    return dossier


def may_file_for_someone(user, definition: ProcedureDefinition) -> bool:
    """Who may open a dossier for a resident at the counter or on the phone: the agents who
    process the procedure (`services_api.may_file_on_behalf`) and the mediators."""
    from mairie.core.organisation.models import Role
    from mairie.core.organisation.queries import roles_of

    from .services_api import may_file_on_behalf

    if not getattr(user, "is_authenticated", False) or (
            user.organisation_id != definition.organisation_id):
        return False
    return Role.MEDIATOR in roles_of(user, definition.organisation) or may_file_on_behalf(
        user, definition)


@transaction.atomic
def start_dossier_for(*, actor, definition: ProcedureDefinition, applicant=None,
                      applicant_email: str = "", request: HttpRequest | None = None
                      ) -> Dossier:
    """Open a draft of `definition` for a resident, filled and submitted by the agent `actor`
    (`Dossier.filed_by`): the dossier belongs to the resident's account when they have one,
    else it is followed through its tracking link (e-mailed to `applicant_email` if given)."""
    if not may_file_for_someone(actor, definition):
        raise PermissionDenied
    if applicant is not None and applicant.organisation_id != definition.organisation_id:
        raise PermissionDenied
    if definition.audience == Audience.AGENTS:
        raise SubmissionRefused(_("Cette démarche est interne aux agents : elle ne se dépose "
                                  "pas pour un usager."))
    refusal = filing_refusal(definition, actor)
    if refusal:
        raise SubmissionRefused(refusal)
    version = definition.current_version
    assert version is not None
    pages = schema_helpers.visible_pages(version.schema, {})
    dossier = Dossier.objects.create(
        organisation=definition.organisation, version=version, applicant=applicant,
        applicant_email=applicant.email if applicant else applicant_email, filed_by=actor,
        data=_prefilled(version, applicant), current_page=pages[0]["key"] if pages else "",
        state=version.workflow.first_state_of_kind(Workflow.Kind.DRAFT))
    _timeline(dossier, "started", actor, on_behalf=True,
              filed_by=actor.get_full_name() or actor.email)
    record_event(organisation=definition.organisation,
                 action="procedures.dossier_started_on_behalf", actor=actor, obj=dossier,
                 object_label=definition.title, request=request,
                 details={"version": version.number, "applicant_account": bool(applicant)})
    return dossier


def _store_uploads(*, actor, dossier: Dossier, uploads: dict[str, UploadedFile],
                   request: HttpRequest | None) -> tuple[dict, dict[str, list[str]]]:
    """Check and store each upload of the page (flat input name → file) on its own, before
    the page is saved: a file the antivirus refuses (or that cannot be scanned now) is left
    out with its messages, and its refusal stays in the audit trail, while the rest of the
    page is saved. Returns the stored files and the refusals, both by input name."""
    stored, refused = {}, {}
    for name, upload in uploads.items():
        try:
            stored[name] = store_upload(actor=actor, organisation=dossier.organisation,
                                        uploaded_file=upload, purpose=DOSSIER_FILE_PURPOSE,
                                        request=request)
        except ValidationError as exc:
            refused[name] = exc.messages
    return stored, refused


def _link_uploads(*, dossier: Dossier, data: dict[str, Any], stored: dict) -> None:
    """Link the stored files to the dossier and put each id where its answer goes: `key` at
    the top level, `block-<i>-key` inside a block."""
    for name, stored_file in stored.items():
        DossierFile.objects.create(organisation=dossier.organisation, dossier=dossier,
                                   field_key=name, stored_file=stored_file)
        block, _sep, rest = name.partition("-")
        index_text, _sep, sub = rest.partition("-")
        if sub and index_text.isdigit() and isinstance(data.get(block), list):
            items = data[block]
            if int(index_text) < len(items) and isinstance(items[int(index_text)], dict):
                items[int(index_text)][sub] = str(stored_file.pk)
        else:
            data[name] = str(stored_file.pk)


def save_page(*, actor, dossier: Dossier, page_key: str, answers: dict[str, Any],
              lock_version: int, typed: dict[str, list[str]] | None = None,
              uploads: dict[str, UploadedFile] | None = None,
              request: HttpRequest | None = None) -> Dossier:
    """Merge one page's answers into the draft and bump its `lock_version`.

    `answers` are what the page's form gives (`form.answers`): the valid answers, so the draft
    survives errors; `typed` is the raw input of the page (input name → values), kept to show
    it again as typed and to re-validate it on submission. A `lock_version` older than the
    stored one raises `StaleDossier` and writes nothing: two tabs never silently overwrite
    each other. `uploads` are the page's files still to store (the form's `pending_uploads`):
    they are checked and stored first, one by one; those refused (virus, scanner down) are
    listed in the returned dossier's `refused_uploads` ({input name: messages}) and the rest
    of the page is saved all the same.
    """
    if dossier.submitted_at is not None:
        raise PermissionDenied(_("Ce dossier est déjà déposé : il ne peut plus être modifié."))
    actor = actor if getattr(actor, "is_authenticated", False) else None
    _org_of(actor, dossier.organisation)
    fresh = Dossier.objects.get(pk=dossier.pk)
    if fresh.lock_version != int(lock_version):
        raise StaleDossier(fresh)
    stored, refused = _store_uploads(actor=actor, dossier=fresh, uploads=uploads or {},
                                     request=request)
    current = _save_page_answers(actor=actor, dossier=dossier, page_key=page_key,
                                 answers=answers, lock_version=lock_version, typed=typed,
                                 stored=stored, request=request)
    current.refused_uploads = refused  # type: ignore[attr-defined]
    return current


@transaction.atomic
def _save_page_answers(*, actor, dossier: Dossier, page_key: str, answers: dict[str, Any],
                       lock_version: int, typed: dict[str, list[str]] | None, stored: dict,
                       request: HttpRequest | None) -> Dossier:
    current = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if current.lock_version != int(lock_version):
        # Saved elsewhere while the files were being scanned: the files stay unlinked (the
        # files sweep removes them) and nothing of this page is written.
        raise StaleDossier(current)
    data = {**current.data, **copy.deepcopy(answers)}
    _link_uploads(dossier=current, data=data, stored=stored)
    inputs = dict(current.page_inputs)
    if typed is not None:
        inputs[page_key] = typed
    updated = Dossier.objects.filter(pk=current.pk, lock_version=current.lock_version).update(
        data=data, page_inputs=inputs, current_page=page_key, lock_version=F("lock_version") + 1,
        updated_at=timezone.now())
    if not updated:  # pragma: no cover — the row lock above makes this unreachable
        raise StaleDossier(current)
    current.refresh_from_db()
    # The audit names the page and the fields, never the answers (personal data stays in
    # the dossier, whose reads are themselves checked).
    record_event(organisation=current.organisation, action="procedures.draft_saved",
                 actor=actor, obj=current, object_label=current.version.definition.title,
                 request=request,
                 details={"page": page_key, "fields": sorted(answers),
                          "files": len(stored), "lock_version": current.lock_version})
    return current


def allocate_number(organisation, *, year: int) -> str:
    """The next dossier number of `organisation` for `year`, e.g. "2026-000123".

    One counter row per organisation and year, incremented in place: concurrent submissions
    serialise on that row (row lock on PostgreSQL, write lock on SQLite) and never get the same
    number. Must run inside the submission's transaction so a rollback gives the number back.
    """
    try:
        with transaction.atomic():
            DossierNumberCounter.objects.get_or_create(organisation=organisation, year=year)
    except IntegrityError:
        pass  # another submission created it first
    counter = DossierNumberCounter.objects.filter(organisation=organisation, year=year)
    counter.update(last=F("last") + 1)
    last = counter.values_list("last", flat=True).get()
    return f"{year}-{last:06d}"


def page_form(dossier: Dossier, page_key: str, *, user=None):
    """The page's form bound to what was last typed on it (an empty input when the page was
    never saved), validated against the dossier's current answers."""
    from django.http import QueryDict

    post = QueryDict(mutable=True)
    for name, values in (dossier.page_inputs.get(page_key) or {}).items():
        post.setlist(name, values)
    return schema_helpers.build_page_form(dossier.version.schema, page_key,
                                          answers=dossier.data, data=post, files={}, user=user)


def page_errors(dossier: Dossier, *, user=None) -> dict[str, Any]:
    """For each visible page that does not validate with what was typed, its errors."""
    found = {}
    for page in schema_helpers.visible_pages(dossier.version.schema, dossier.data):
        form = page_form(dossier, page["key"], user=user)
        if not form.is_valid():
            found[page["key"]] = form.errors
    return found


@transaction.atomic
def submit_dossier(*, actor, dossier: Dossier, request: HttpRequest | None = None) -> Dossier:
    """File the dossier: every visible page must be valid and the procedure still open and
    under its cap. Allocates the number, moves to the workflow's submitted state, writes the
    timeline and audit, and e-mails the confirmation once the transaction commits."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    _org_of(actor, dossier.organisation)
    # Only the dossier's row is locked (`of`): locking the joined organisation would make
    # every write of the organisation wait for this submission, and deadlock with them.
    current = Dossier.objects.select_for_update(of=("self",)).select_related(
        "version__definition__service", "version__workflow", "organisation").get(pk=dossier.pk)
    if current.submitted_at is not None:
        raise SubmissionRefused(_("Ce dossier est déjà déposé."))
    definition = current.version.definition
    if definition.max_submissions:
        # Lock the procedure so the cap holds under simultaneous submissions (only then:
        # the number counter alone keeps uncapped submissions apart).
        ProcedureDefinition.objects.select_for_update().filter(pk=definition.pk).exists()
    refusal = filing_refusal(definition, actor if actor else None)
    if refusal and definition.current_version_id and not (
            definition.audience == Audience.RESIDENTS and actor is None and current.applicant_id):
        raise SubmissionRefused(refusal)
    errors = page_errors(current, user=actor)
    if errors:
        page_key = next(iter(errors))
        raise PageInvalid(_("Certaines réponses sont manquantes ou incorrectes : corrigez la "
                            "page indiquée avant d'envoyer."), page_key=page_key)
    now = timezone.now()
    current.number = allocate_number(current.organisation,
                                     year=timezone.localtime(now).year)
    current.state = current.version.workflow.first_state_of_kind(Workflow.Kind.SUBMITTED)
    current.submitted_at = now
    current.lock_version += 1
    current.save(update_fields=["number", "state", "submitted_at", "lock_version",
                                "updated_at"])
    update_search_text(current)
    _timeline(current, "submitted", actor, number=current.number, state=current.state)
    record_event(organisation=current.organisation, action="procedures.dossier_submitted",
                 actor=actor, obj=current, object_label=current.number, request=request,
                 details={"definition": str(definition.pk), "number": current.number})
    from .automation import on_submitted  # issue 4: routing, automatic transitions (0400)

    on_submitted(dossier=current, request=request)
    # Filed by an agent for the applicant: the confirmation goes to the applicant only.
    recipient = current.applicant_email or (
        actor.email if actor and not current.filed_by_id else "")
    if recipient:
        transaction.on_commit(lambda: _send_confirmation(current, recipient, request))
    return current


def _send_confirmation(dossier: Dossier, recipient: str, request: HttpRequest | None) -> None:
    tracking_url = ""
    path = f"/suivi/{dossier.tracking_code}/"
    if request is not None:
        tracking_url = request.build_absolute_uri(path)
    context = {"dossier": dossier, "definition": dossier.version.definition,
               "organisation": dossier.organisation, "tracking_url": tracking_url,
               "anonymous": dossier.applicant_id is None}
    subject = _("Votre dossier %(number)s a bien été déposé") % {"number": dossier.number}
    body = render_to_string("procedures/email/confirmation.txt", context)
    send_mail(subject, body, None, [recipient])


@transaction.atomic
def set_anonymous_email(*, dossier: Dossier, email: str,
                        request: HttpRequest | None = None) -> Dossier:
    """Record where an anonymous applicant wants the confirmation (optional)."""
    if dossier.applicant_id or dossier.submitted_at:
        raise PermissionDenied
    Dossier.objects.filter(pk=dossier.pk).update(applicant_email=email)
    dossier.applicant_email = email
    record_event(organisation=dossier.organisation, action="procedures.contact_email_set",
                 obj=dossier, request=request, details={"given": bool(email)})
    return dossier


def record_dossier_read(*, actor, dossier: Dossier, request: HttpRequest | None = None) -> None:
    """Professional secrecy: every time an agent opens a dossier, the audit trail says who
    read which dossier and when (the answers themselves are never copied into it)."""
    record_event(organisation=dossier.organisation, action="procedures.dossier_read",
                 actor=actor, obj=dossier, object_label=dossier.number,
                 details={"procedure": dossier.version.definition.slug}, request=request)


# --- Inbox search -----------------------------------------------------------------------------


def search_text_of(dossier: Dossier) -> str:
    """What the inbox's search finds a dossier by: its number, the applicant's name and e-mail
    addresses and the text of the answers as shown to agents (`schema.answers_summary`),
    normalised like the searched words (lower case, no accents)."""
    from .queries import normalise_search_text

    applicant = dossier.applicant
    parts = [dossier.number, dossier.applicant_email]
    if applicant is not None:
        parts += [applicant.get_full_name(), applicant.email]
    parts += [value for _label, value in
              schema_helpers.answers_summary(dossier.version.schema, dossier.data or {})]
    return normalise_search_text(" ".join(str(part) for part in parts if part))


def update_search_text(dossier: Dossier) -> str:
    """Recompute `dossier.search_text` (on submission, and whenever its answers change — e.g.
    a correction answered). Derived data, like the search index: written in the caller's
    transaction, not audited, and `lock_version` untouched (it is no change of the dossier)."""
    text = search_text_of(dossier)
    Dossier.objects.filter(pk=dossier.pk).update(search_text=text)
    dossier.search_text = text
    return text


def reindex_search_texts(*, organisation=None) -> int:
    """Recompute the search text of every submitted dossier (of `organisation`, or of all):
    for dossiers filed before the text existed, or after a change of how it is built."""
    dossiers = (Dossier.objects.filter(submitted_at__isnull=False)
                .select_related("version", "applicant").order_by("pk"))
    if organisation is not None:
        dossiers = dossiers.filter(organisation=organisation)
    count = 0
    for dossier in dossiers.iterator(chunk_size=500):
        update_search_text(dossier)
        count += 1
    return count
