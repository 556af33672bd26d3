"""Mandates: created by a mediator with the resident, usable once the resident's consent is
recorded (a code sent to their e-mail address, or a signed paper mandate scanned at the
counter, its hash kept), journaled at every use, revocable by the resident from their account
or at the counter, reminded to the mediator before it expires, renewed as a new mandate."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mairie.core.audit.services import record_event
from mairie.core.notifications.kinds import register_kind
from mairie.core.notifications.services import notify
from mairie.core.notifications.sms import SmsError, may_receive_sms, send_sms
from mairie.core.organisation.models import Role
from mairie.core.organisation.queries import roles_of

from .models import ResidentRecord
from .models_mandates import DURATION_DAYS, GENESIS, Domain, Duration, Mandate, MandateUse

CODE_VALIDITY = datetime.timedelta(minutes=30)
MAX_ATTEMPTS = 5
REMINDER_DAYS = 7
REMINDER_KIND = "crm.mandate_expiring"


def register() -> None:
    register_kind(REMINDER_KIND, gettext_lazy("Mandats bientôt expirés"),
                  description=gettext_lazy("Quelques jours avant la fin d'un mandat que vous "
                                           "détenez."), for_residents=False)


PAPER_PURPOSE = "crm-mandate-paper"


def register_paper_purpose() -> None:
    from mairie.core.files.purposes import register_purpose

    register_purpose(
        PAPER_PURPOSE, allowed={"application/pdf", "image/jpeg", "image/png"},
        max_bytes=10 * 1024 * 1024, label=gettext_lazy("Mandat papier signé, numérisé"),
        can_upload=lambda user, organisation: may_hold_mandates(user, organisation),
        can_read=_may_read_paper)


def _may_read_paper(user, stored) -> bool:
    """The signed mandate: the organisation's mediators, and the person who signed it."""
    if not getattr(user, "is_authenticated", False):
        return False
    return may_hold_mandates(user, stored.organisation) or Mandate.objects.filter(
        paper_copy=stored, record__account_id=user.pk).exists()


def may_hold_mandates(user, organisation) -> bool:
    """Mediators hold mandates (Aidants Connect's « aidants »)."""
    return Role.MEDIATOR in roles_of(user, organisation)


def _hash_code(mandate_id, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{mandate_id}:{code}".encode(),
                    hashlib.sha256).hexdigest()


def _audit(action, actor, mandate: Mandate, request=None, **details) -> None:
    record_event(organisation=mandate.organisation, action=action, actor=actor, obj=mandate,
                 object_label=str(mandate.record), request=request,
                 details={"record": str(mandate.record_id), "domains": mandate.domains,
                          **details})


@transaction.atomic
def create_mandate(*, actor, record: ResidentRecord, domains: list[str], duration: str,
                   consent_method: str, request: HttpRequest | None = None,
                   renewed_from: Mandate | None = None) -> Mandate:
    """A pending mandate; with e-mail consent, the code goes to the resident's address."""
    organisation = record.organisation
    if not may_hold_mandates(actor, organisation):
        raise PermissionDenied
    if record.merged_into_id:
        raise ValidationError(_("Cette fiche a été fusionnée dans une autre."))
    domains = [d for d in dict.fromkeys(domains) if d in Domain.values]
    if not domains:
        raise ValidationError({"domains": _("Choisissez au moins un domaine.")})
    if duration not in Duration.values:
        raise ValidationError({"duration": _("Choisissez une durée.")})
    if consent_method == Mandate.Consent.EMAIL and not record.email:
        raise ValidationError({"consent_method": _(
            "La fiche n'a pas d'adresse de courriel : ajoutez-la, ou choisissez le mandat "
            "papier.")})
    if consent_method == Mandate.Consent.SMS and not may_receive_sms(
            record.phone, organisation.country):
        raise ValidationError({"consent_method": _(
            "La fiche n'a pas de numéro de téléphone mobile : ajoutez-le, ou choisissez le "
            "courriel ou le mandat papier.")})
    if consent_method not in Mandate.Consent.values:
        raise ValidationError({"consent_method": _("Choisissez comment la personne donne "
                                                   "son accord.")})
    mandate = Mandate.objects.create(organisation=organisation, record=record, mediator=actor,
                                     domains=domains, duration=duration,
                                     consent_method=consent_method, renewed_from=renewed_from)
    _audit("crm.mandate_created", actor, mandate, request, duration=duration,
           consent=consent_method, renewal=bool(renewed_from))
    if consent_method in (Mandate.Consent.EMAIL, Mandate.Consent.SMS):
        send_code(actor=actor, mandate=mandate, request=request)
    return mandate


def send_code(*, actor, mandate: Mandate, request: HttpRequest | None = None) -> None:
    """(Re)send a 6-digit code to the resident, by e-mail or by SMS; the previous one stops
    working. A text that cannot leave is a ValidationError saying why, and the previous code
    is kept."""
    if mandate.state != Mandate.State.PENDING or actor.pk != mandate.mediator_id:
        raise PermissionDenied
    code = f"{secrets.randbelow(10 ** 6):06d}"
    facts = {
        "mediator": mandate.mediator.get_full_name() or mandate.mediator.email,
        "organisation": mandate.organisation.name, "domains": ", ".join(mandate.domain_labels()),
        "duration": Duration(mandate.duration).label, "code": code}
    if mandate.consent_method == Mandate.Consent.SMS:
        text = _("%(organisation)s : %(mediator)s vous propose un mandat pour vos démarches "
                 "(%(domains)s ; %(duration)s). Si vous êtes d'accord, donnez-lui le code "
                 "%(code)s (valable 30 min).") % facts
        try:
            send_sms(to=mandate.record.phone, text=text, country=mandate.organisation.country)
        except SmsError as exc:
            _audit("crm.mandate_code_failed", actor, mandate, request, channel="sms",
                   reason=str(exc))
            raise ValidationError(_(
                "Le SMS n'a pas pu partir (%(reason)s). Vérifiez le numéro sur la fiche, "
                "réessayez, ou créez un mandat avec un autre moyen d'accord.") % {
                "reason": exc}) from exc
    else:
        body = _("Bonjour,\n\n%(mediator)s, à %(organisation)s, vous propose un mandat pour "
                 "faire des démarches à votre place (domaines : %(domains)s ; durée : "
                 "%(duration)s).\n\nSi vous êtes d'accord, donnez-lui ce code : %(code)s\n\n"
                 "Il est valable 30 minutes. Si vous n'êtes pas à l'origine de cette demande, "
                 "ignorez ce message.") % facts
        transaction.on_commit(lambda: send_mail(
            _("Votre code pour le mandat"), body, None, [mandate.record.email]))
    Mandate.objects.filter(pk=mandate.pk).update(
        code_hash=_hash_code(mandate.pk, code), code_sent_at=timezone.now(), code_attempts=0)
    _audit("crm.mandate_code_sent", actor, mandate, request,
           channel="sms" if mandate.consent_method == Mandate.Consent.SMS else "email")


def activate(mandate: Mandate, now) -> None:
    """Consent recorded at `now`: the mandate runs for its duration from then (not saved)."""
    mandate.consented_at = now
    mandate.expires_at = now + datetime.timedelta(days=DURATION_DAYS[mandate.duration])


@transaction.atomic
def confirm_code(*, actor, mandate: Mandate, code: str,
                 request: HttpRequest | None = None) -> Mandate:
    current = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if actor.pk != current.mediator_id:
        raise PermissionDenied
    if current.state != Mandate.State.PENDING or not current.code_hash:
        raise ValidationError(_("Ce mandat n'attend pas de code."))
    now = timezone.now()
    if current.code_attempts >= MAX_ATTEMPTS:
        raise ValidationError(_("Trop d'essais : envoyez un nouveau code."))
    if current.code_sent_at is None or now - current.code_sent_at > CODE_VALIDITY:
        raise ValidationError(_("Ce code a expiré : envoyez-en un nouveau."))
    if not hmac.compare_digest(current.code_hash, _hash_code(current.pk, code.strip())):
        Mandate.objects.filter(pk=current.pk).update(code_attempts=current.code_attempts + 1)
        raise ValidationError(_("Ce code n'est pas le bon. Vérifiez-le avec la personne."))
    activate(current, now)
    current.code_hash = ""
    current.save(update_fields=["consented_at", "expires_at", "code_hash", "updated_at"])
    by_sms = current.consent_method == Mandate.Consent.SMS
    _audit("crm.mandate_consented", actor, current, request,
           consent="sms" if by_sms else "email")
    journal(mandate=current, actor=actor, action="consented",
            label=_("Consentement donné par code reçu par SMS") if by_sms
            else _("Consentement donné par code reçu par courriel"))
    return current


@transaction.atomic
def attach_paper(*, actor, mandate: Mandate, stored_file,
                 request: HttpRequest | None = None) -> Mandate:
    """The signed paper mandate, scanned at the counter: consent recorded, its hash kept."""
    current = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if actor.pk != current.mediator_id:
        raise PermissionDenied
    if current.state != Mandate.State.PENDING:
        raise ValidationError(_("Ce mandat n'attend pas de consentement."))
    digest = hashlib.sha256()
    with stored_file.file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    current.paper_copy, current.paper_sha256 = stored_file, digest.hexdigest()
    activate(current, timezone.now())
    current.save(update_fields=["paper_copy", "paper_sha256", "consented_at", "expires_at",
                                "updated_at"])
    _audit("crm.mandate_consented", actor, current, request, consent="paper",
           sha256=current.paper_sha256)
    journal(mandate=current, actor=actor, action="consented",
            label=_("Mandat papier signé, numérisé à l'accueil"))
    return current


def journal(*, mandate: Mandate, actor, action: str, label: str) -> MandateUse:
    """Append one line to the mandate's journal (the mandate's row locks the sequence)."""
    Mandate.objects.select_for_update().filter(pk=mandate.pk).exists()
    last = (MandateUse.objects.filter(mandate=mandate).order_by("-seq")
            .values("seq", "hash").first())
    use = MandateUse(mandate=mandate, seq=(last["seq"] + 1) if last else 1,
                     actor_label=(f"{actor.get_full_name()} <{actor.email}>"
                                  if actor is not None else "système")[:300],
                     action=action, label=label[:300],
                     prev_hash=last["hash"] if last else GENESIS)
    use.hash = use.compute_hash()
    use.save()
    return use


def verify_journal(mandate: Mandate) -> int | None:
    """The first broken line's number, or None when the journal is intact."""
    previous, expected = GENESIS, 1
    for use in MandateUse.objects.filter(mandate=mandate).order_by("seq"):
        if use.seq != expected or use.prev_hash != previous or use.compute_hash() != use.hash:
            return expected
        previous, expected = use.hash, expected + 1
    return None


def active_mandate(actor, record: ResidentRecord, domain: str) -> Mandate | None:
    """The actor's active mandate for the record covering `domain`, if any."""
    for mandate in Mandate.objects.filter(record=record, mediator=actor,
                                          consented_at__isnull=False, revoked_at__isnull=True,
                                          expires_at__gt=timezone.now()):
        if domain in mandate.domains:
            return mandate
    return None


@transaction.atomic
def use_mandate(*, actor, record: ResidentRecord, domain: str, label: str,
                request: HttpRequest | None = None) -> Mandate:
    """Act for the resident in `domain`: refused without an active mandate covering it."""
    mandate = active_mandate(actor, record, domain)
    if mandate is None:
        raise PermissionDenied(_("Vous n'avez pas de mandat actif de cette personne pour ce "
                                 "domaine."))
    journal(mandate=mandate, actor=actor, action="used", label=label)
    _audit("crm.mandate_used", actor, mandate, request, domain=domain)
    return mandate


@transaction.atomic
def revoke(*, actor, mandate: Mandate, request: HttpRequest | None = None) -> Mandate:
    """By the resident (their account is the record's) or at the counter by a mediator."""
    current = Mandate.objects.select_for_update().select_related("record").get(pk=mandate.pk)
    by_resident = current.record.account_id is not None and current.record.account_id == \
        getattr(actor, "pk", None)
    if not by_resident and not may_hold_mandates(actor, current.organisation):
        raise PermissionDenied
    if current.revoked_at:
        return current
    current.revoked_at, current.revoked_by = timezone.now(), actor
    current.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    _audit("crm.mandate_revoked", actor, current, request, by_resident=by_resident)
    journal(mandate=current, actor=actor, action="revoked",
            label=_("Mandat révoqué par la personne") if by_resident
            else _("Mandat révoqué à l'accueil"))
    return current


def renew(*, actor, mandate: Mandate, request: HttpRequest | None = None) -> Mandate:
    """A new pending mandate with the same scope (the old one stays as it is)."""
    return create_mandate(actor=actor, record=mandate.record, domains=mandate.domains,
                          duration=mandate.duration, consent_method=mandate.consent_method,
                          request=request, renewed_from=mandate)


def remind_expiring(*, now=None) -> int:
    """Tell each mediator, once, about their mandates ending within REMINDER_DAYS."""
    now = now or timezone.now()
    due = (Mandate.objects.filter(consented_at__isnull=False, revoked_at__isnull=True,
                                  reminder_sent_at__isnull=True, expires_at__gt=now,
                                  expires_at__lte=now + datetime.timedelta(days=REMINDER_DAYS))
           .select_related("record", "mediator", "organisation"))
    sent = 0
    for mandate in due:
        with transaction.atomic():
            if not Mandate.objects.filter(pk=mandate.pk, reminder_sent_at__isnull=True).update(
                    reminder_sent_at=now):
                continue
            notify(organisation=mandate.organisation, recipients=[mandate.mediator],
                   kind=REMINDER_KIND, about=mandate.record,
                   title=_("Le mandat de %(name)s expire le %(date)s") % {
                       "name": mandate.record.full_name,
                       "date": timezone.localtime(mandate.expires_at).strftime("%d/%m/%Y")},
                   url=reverse("crm:mandates", args=[mandate.record_id]))
            sent += 1
    return sent


def no_fetch(url: str, *args, **kwargs):
    raise ValueError(f"The mandate fetches no external resource ({url!r}).")


def last_seq(mandate: Mandate) -> int:
    return MandateUse.objects.filter(mandate=mandate).aggregate(n=Max("seq"))["n"] or 0
