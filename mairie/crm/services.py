"""Writing the citizen records: create, correct, log a contact, merge two records of the same
person. Every write is audited; reading a record is audited too (`record_viewed`)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_event

from . import rules, text
from .models import Interaction, RecordMerge, ResidentRecord

IDENTITY_FIELDS = ("first_name", "last_name", "birth_name", "birth_date", "email", "phone",
                   "address", "postal_code", "city", "preferred_channel", "notes")


class StaleRecord(Exception):
    """The record was changed by someone else since the form was loaded."""

    def __init__(self, current: ResidentRecord):
        super().__init__(_("Cette fiche a été modifiée par quelqu'un d'autre pendant que vous "
                           "la corrigiez : vérifiez ses nouvelles valeurs, puis enregistrez à "
                           "nouveau vos corrections."))
        self.current = current


def _unlinked_account(organisation, email: str):
    """The organisation's active account with this e-mail address that has no record yet:
    the person typed in at the counter is the one who files online with that address."""
    from django.contrib.auth import get_user_model

    taken = ResidentRecord.objects.filter(organisation=organisation, account__isnull=False,
                                          merged_into__isnull=True).values("account_id")
    return (get_user_model().objects.filter(organisation=organisation, email__iexact=email,
                                            is_active=True)
            .exclude(pk__in=taken).first())


def record_for_account(account) -> ResidentRecord:
    """The record of a resident's own account, created from the account the first time (their
    GRC timeline then gathers their dossiers)."""
    record = ResidentRecord.objects.filter(organisation_id=account.organisation_id,
                                           account=account, merged_into__isnull=True).first()
    if record is not None:
        return record
    record = ResidentRecord(organisation_id=account.organisation_id, account=account,
                            first_name=account.first_name, last_name=account.last_name
                            or account.email.split("@")[0], email=account.email)
    refresh_search(record)
    record.save()
    return record


def link_record_on_verified_email(account, email: str) -> ResidentRecord | None:
    """A resident proved they own `email` (allauth's confirmation): the record made for them
    at the counter or on the phone with that address joins their account, so they find its
    mandates and their history in « Mon compte ». Only when exactly one unlinked record has
    the address and the account has none yet; otherwise agents merge by hand."""
    organisation_id = account.organisation_id
    if not organisation_id or ResidentRecord.objects.filter(
            organisation_id=organisation_id, account=account).exists():
        return None
    found = list(ResidentRecord.objects.filter(
        organisation_id=organisation_id, account__isnull=True, merged_into__isnull=True,
        email__iexact=email)[:2])
    if len(found) != 1:
        return None
    record = found[0]
    ResidentRecord.objects.filter(pk=record.pk, account__isnull=True).update(account=account)
    record.account = account
    record_event(organisation=record.organisation, action="crm.record_linked_to_account",
                 actor=account, obj=record, object_label=record.full_name,
                 details={"email": email})
    return record


def refresh_search(record: ResidentRecord) -> None:
    """Fill the derived search columns from the record's fields (before saving it)."""
    names = text.words(" ".join([record.first_name, record.last_name, record.birth_name]))
    record.search_text = text.padded([
        *names, *text.words(record.email), *text.words(record.city), record.postal_code,
        text.digits(record.phone)])
    record.phonetic = text.padded(text.phonetic(name) for name in names)[:300]
    record.phone_digits = text.digits(record.phone)[:20]


def _require_agent(actor, organisation) -> None:
    if not rules.is_agent_of(actor, organisation):
        raise PermissionDenied


@transaction.atomic
def create_record(*, actor, organisation, values: dict, account=None,
                  request: HttpRequest | None = None) -> ResidentRecord:
    _require_agent(actor, organisation)
    if account is not None and account.organisation_id != organisation.pk:
        raise PermissionDenied
    if account is None and values.get("email"):
        account = _unlinked_account(organisation, values["email"])
    record = ResidentRecord(organisation=organisation, account=account, created_by=actor,
                            **{k: v for k, v in values.items() if k in IDENTITY_FIELDS})
    refresh_search(record)
    record.full_clean(exclude=["organisation", "account", "created_by", "merged_into"])
    record.save()
    record_event(organisation=organisation, action="crm.record_created", actor=actor,
                 obj=record, object_label=record.full_name, request=request,
                 details={"with_account": account is not None})
    return record


@transaction.atomic
def update_record(*, actor, record: ResidentRecord, values: dict, lock_version,
                  request: HttpRequest | None = None) -> ResidentRecord:
    _require_agent(actor, record.organisation)
    current = ResidentRecord.objects.select_for_update().get(pk=record.pk)
    if current.merged_into_id:
        raise ValidationError(_("Cette fiche a été fusionnée dans une autre : corrigez "
                                "plutôt celle-ci."))
    if str(current.lock_version) != str(lock_version):
        raise StaleRecord(current)
    changed = []
    for name in IDENTITY_FIELDS:
        if name in values and getattr(current, name) != values[name]:
            setattr(current, name, values[name])
            changed.append(name)
    if not changed:
        return current
    refresh_search(current)
    current.full_clean(exclude=["organisation", "account", "created_by", "merged_into"])
    current.lock_version += 1
    current.save()
    # Which fields changed, never their values: the audit log keeps no personal data.
    record_event(organisation=current.organisation, action="crm.record_updated", actor=actor,
                 obj=current, object_label=current.full_name, request=request,
                 details={"fields": changed})
    return current


def record_viewed(*, actor, record: ResidentRecord, request: HttpRequest | None = None) -> None:
    record_event(organisation=record.organisation, action="crm.record_viewed", actor=actor,
                 obj=record, object_label=record.full_name, request=request)


@transaction.atomic
def log_interaction(*, actor, record: ResidentRecord, service, values: dict,
                    request: HttpRequest | None = None) -> Interaction:
    """Log a contact on the record, for one of the agent's own services."""
    organisation = record.organisation
    _require_agent(actor, organisation)
    if record.merged_into_id:
        raise ValidationError(_("Cette fiche a été fusionnée dans une autre : notez le contact "
                                "sur celle-ci."))
    if service.organisation_id != organisation.pk or (
            service.pk not in rules.services_of(actor, organisation)):
        raise PermissionDenied
    interaction = Interaction(organisation=organisation, record=record, service=service,
                              agent=actor, **values)
    interaction.full_clean(exclude=["organisation", "record", "service", "agent"])
    interaction.save()
    record_event(organisation=organisation, action="crm.interaction_logged", actor=actor,
                 obj=interaction, object_label=record.full_name, request=request,
                 details={"record": str(record.pk), "channel": interaction.channel,
                          "outcome": interaction.outcome, "service": str(service.pk)})
    return interaction


@transaction.atomic
def merge_records(*, actor, kept: ResidentRecord, absorbed: ResidentRecord,
                  request: HttpRequest | None = None) -> RecordMerge:
    """Make `absorbed` part of `kept`: its interactions move over, the fields `kept` lacks are
    taken from it, its account link too when `kept` has none; `absorbed` stays, marked as
    merged (its page leads to `kept`), and the merge keeps what it held."""
    organisation = kept.organisation
    if not rules.may_merge(actor, organisation):
        raise PermissionDenied
    if absorbed.organisation_id != organisation.pk:
        raise PermissionDenied
    if absorbed.pk == kept.pk:
        raise ValidationError(_("Une fiche ne peut pas être fusionnée avec elle-même : "
                                "choisissez la fiche en double."))
    locked = {r.pk: r for r in ResidentRecord.objects.select_for_update()
              .filter(pk__in=[kept.pk, absorbed.pk]).order_by("pk")}
    kept, absorbed = locked[kept.pk], locked[absorbed.pk]
    if kept.merged_into_id or absorbed.merged_into_id:
        raise ValidationError(_("L'une de ces fiches a déjà été fusionnée : rechargez la page."))
    if kept.account_id and absorbed.account_id and kept.account_id != absorbed.account_id:
        raise ValidationError(_("Ces deux fiches sont liées à deux comptes en ligne différents : "
                                "ce ne sont pas les mêmes personnes."))
    snapshot = {name: (str(value) if value is not None and name == "birth_date" else value)
                for name in IDENTITY_FIELDS for value in [getattr(absorbed, name)]}
    snapshot["account"] = str(absorbed.account_id) if absorbed.account_id else None
    taken = [name for name in IDENTITY_FIELDS if name not in ("notes", "preferred_channel")
             and not getattr(kept, name) and getattr(absorbed, name)]
    for name in taken:
        setattr(kept, name, getattr(absorbed, name))
    if absorbed.notes:
        kept.notes = "\n\n".join(part for part in (kept.notes, absorbed.notes) if part)
    account = absorbed.account_id if not kept.account_id else None
    moved = Interaction.objects.filter(record=absorbed).update(record=kept)
    from .models_scans import CounterScan

    CounterScan.objects.filter(record=absorbed).update(record=kept)
    RecordMerge.objects.filter(kept=absorbed).update(kept=kept)
    absorbed.merged_into = kept
    absorbed.account = None
    absorbed.save(update_fields=["merged_into", "account", "updated_at"])
    if account:
        kept.account_id = account
    refresh_search(kept)
    kept.lock_version = F("lock_version") + 1
    kept.save()
    kept.refresh_from_db()
    merge = RecordMerge.objects.create(
        organisation=organisation, kept=kept, absorbed=absorbed, agent=actor, snapshot=snapshot,
        moved={"interactions": moved, "fields": taken, "account": bool(account)})
    record_event(organisation=organisation, action="crm.records_merged", actor=actor, obj=kept,
                 object_label=kept.full_name, request=request,
                 details={"absorbed": str(absorbed.pk), "interactions": moved,
                          "fields": taken, "account": bool(account)})
    return merge


@transaction.atomic
def open_dossier_for(*, actor, record: ResidentRecord, definition, service,
                     request: HttpRequest | None = None):
    """Open `definition` for the resident at the counter: a draft the agent fills and submits
    (`procedures.services.start_dossier_for`), belonging to the resident's account when the
    record has one; the contact is logged on the record with the dossier."""
    from mairie.procedures import services as procedures
    from mairie.procedures.services_api import may_file_on_behalf

    from . import services_mandates

    if record.merged_into_id:
        raise ValidationError(_("Cette fiche a été fusionnée dans une autre : ouvrez la "
                                "démarche depuis celle-ci."))
    domain = definition.mandate_domain
    mandate = services_mandates.active_mandate(actor, record, domain) if domain else None
    if record.account_id and mandate is None and not may_file_on_behalf(actor, definition):
        # Acting in the person's online account is what a mandate is for (decision 0465).
        raise ValidationError(_(
            "Pour déposer cette démarche dans le compte en ligne de %(name)s, il vous faut un "
            "mandat actif de sa part pour le domaine « %(domain)s ».") % {
            "name": record.full_name,
            "domain": definition.get_mandate_domain_display() or _("non précisé")})
    dossier = procedures.start_dossier_for(actor=actor, definition=definition,
                                           applicant=record.account,
                                           applicant_email=record.email, request=request)
    if mandate is not None:
        services_mandates.use_mandate(
            actor=actor, record=record, domain=domain, request=request,
            label=_("Démarche « %(title)s » ouverte en son nom") % {"title": definition.title})
    log_interaction(actor=actor, record=record, service=service, request=request, values={
        "channel": "counter", "outcome": Interaction.Outcome.DOSSIER, "dossier": dossier,
        "subject": (_("Démarche « %(title)s » déposée pour la personne")
                    % {"title": definition.title})[:200]})
    return dossier
