"""What the appointments declare about personal data (GDPR art. 30), a person's appointments
and waiting-list entries in their copy of their data (« Mes données »), and their erasure
(decision 0493).

A person's rows are those booked with their account, and those booked with their address
(an agent on the phone, a booking without an account): the same person for the anti-hoarding
count, so the same person here."""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mairie.core.privacy.registry import ProcessingActivity, iso, register

ANONYMISED = "Anonymisé"


def _of_person(user, organisation) -> Q:
    mine = Q(account=user)
    if user.email:
        mine |= Q(email_key=user.email.strip().lower())
    return Q(organisation=organisation) & mine


def _appointments(user, organisation) -> list[dict]:
    from .models import Appointment

    return [{"type": a.appointment_type.name, "place": a.slot.counter.name,
             "address": a.slot.counter.address, "start": iso(a.starts_at),
             "end": iso(a.slot.end), "status": a.get_status_display(),
             "attendance": a.get_attendance_display(), "booked_at": iso(a.created_at),
             "channel": a.get_channel_display(), "cancelled_at": iso(a.cancelled_at),
             "name": a.name, "email": a.email, "phone": a.phone,
             "dossier": (a.dossier.number or None) if a.dossier is not None else None}
            for a in Appointment.objects.filter(_of_person(user, organisation))
            .select_related("appointment_type", "slot__counter", "dossier")
            .order_by("starts_at")]


def _waiting_list(user, organisation) -> list[dict]:
    from .models import WaitingListEntry

    return [{"type": e.appointment_type.name,
             "place": e.counter.name if e.counter is not None else None, "name": e.name,
             "email": e.email, "phone": e.phone, "registered_at": iso(e.created_at),
             "wanted_until": iso(e.wanted_until), "told_at": iso(e.last_notified_at),
             "ended_at": iso(e.ended_at)}
            for e in WaitingListEntry.objects.filter(_of_person(user, organisation))
            .select_related("appointment_type", "counter").order_by("created_at")]


def erase_appointments(user, organisation) -> dict:
    """Future appointments are cancelled (their seat goes back to the offer, audited) and,
    like past ones, anonymised: name, e-mail, phone, their normalised keys, the account and
    the agent's note go; type, place, time and attendance stay for the statistics."""
    from django.utils.translation import gettext as _

    from . import services
    from .models import Appointment

    now = timezone.now()
    mine = Appointment.objects.filter(_of_person(user, organisation))
    cancelled = 0
    for appointment in (mine.filter(status=Appointment.Status.BOOKED, starts_at__gt=now)
                        .select_related("slot", "appointment_type", "organisation")):
        try:
            services.cancel_appointment(appointment=appointment, actor=None)
        except services.BookingRefused:  # begun meanwhile: anonymised like a past one
            continue
        cancelled += 1
    anonymised = mine.update(name=ANONYMISED, email="", email_key="", phone="",
                             phone_key="", account=None, agent_note="", updated_at=now)
    erased = []
    if cancelled:
        erased.append(_("%(n)s rendez-vous à venir annulés") % {"n": cancelled})
    if anonymised:
        erased.append(_("%(n)s rendez-vous anonymisés (nom, courriel, téléphone)")
                      % {"n": anonymised})
    kept = [_("le type, le lieu, l'heure et la présence des rendez-vous restent, sans nom, "
              "pour les statistiques de l'accueil.")] if anonymised else []
    return {"erased": [str(e) for e in erased], "kept": [str(k) for k in kept]}


def erase_waiting_list(user, organisation) -> dict:
    from django.utils.translation import gettext as _

    from .models import WaitingListEntry

    count, _rows = WaitingListEntry.objects.filter(_of_person(user, organisation)).delete()
    return {"erased": [str(_("%(n)s inscriptions sur liste d'attente supprimées")
                           % {"n": count})] if count else []}


def _account_deleted(sender, user, request=None, **kwargs) -> None:
    """Closing an account (decision 0100) erases here what the account does not cascade to:
    the name, address and phone copied on the appointments, the waiting-list entries."""
    organisation = user.organisation
    if organisation is None:
        return
    erase_appointments(user, organisation)
    erase_waiting_list(user, organisation)


def register_privacy() -> None:
    from mairie.core.accounts.signals import account_deleted

    account_deleted.connect(_account_deleted, dispatch_uid="appointments-account-deleted")
    register(ProcessingActivity(
        key="appointments.appointments", module="appointments",
        name=_("Rendez-vous des usagers"),
        purpose=_("Recevoir les usagers sur rendez-vous (titres d'identité, état civil, "
                  "action sociale, réunions), leur rappeler le rendez-vous, préparer "
                  "l'accueil."),
        legal_basis=_("Mission de service public (RGPD art. 6.1.e)."),
        data_subjects=_("Usagers qui prennent rendez-vous, en ligne, par téléphone ou à "
                        "l'accueil."),
        data_categories=_("Nom, adresse électronique, téléphone, type, lieu et heure du "
                          "rendez-vous, présence, dossier lié, note de l'agent."),
        recipients=_("Les agents de l'accueil de la collectivité ; l'agent qui reçoit."),
        retention=_("1 an après la date du rendez-vous, puis anonymisé (nom, courriel, "
                    "téléphone effacés) ; effacement sur demande : les rendez-vous à venir "
                    "sont annulés."),
        security=_("Lien de gestion signé, lecture des rendez-vous du jour réservée aux "
                   "agents des lieux concernés et journalisée, limite de rendez-vous à venir "
                   "par personne."),
        export=_appointments, erase=erase_appointments))
    register(ProcessingActivity(
        key="appointments.waiting_list", module="appointments",
        name=_("Liste d'attente des rendez-vous"),
        purpose=_("Prévenir un usager quand un créneau se libère pour le rendez-vous qu'il "
                  "attend."),
        legal_basis=_("Consentement de l'usager, qui s'inscrit et se désinscrit (RGPD art. "
                      "6.1.a)."),
        data_subjects=_("Usagers inscrits sur une liste d'attente."),
        data_categories=_("Nom, adresse électronique, téléphone, type et lieu souhaités, "
                          "dates de l'inscription et des avis envoyés."),
        recipients=_("Les agents de l'accueil de la collectivité."),
        retention=_("Jusqu'à la fin de l'inscription (rendez-vous pris, désinscription ou "
                    "date souhaitée passée) ; supprimée sur demande."),
        security=_("Avis envoyés au seul inscrit ; lecture réservée aux agents."),
        export=_waiting_list, erase=erase_waiting_list))


RETENTION = datetime.timedelta(days=365)


def apply_retention(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """What the register promises (decision 0493): appointments more than a year past are
    anonymised, like an erasure (type, place, time and attendance stay for the statistics),
    and waiting-list entries ended more than a year ago are deleted. Idempotent."""
    from .models import Appointment, WaitingListEntry

    now = now or timezone.now()
    limit = now - RETENTION
    anonymised = (Appointment.objects.filter(starts_at__lt=limit).exclude(name=ANONYMISED)
                  .update(name=ANONYMISED, email="", email_key="", phone="", phone_key="",
                          account=None, agent_note="", updated_at=now))
    deleted, _rows = WaitingListEntry.objects.filter(ended_at__lt=limit).delete()
    return {"anonymised": anonymised, "deleted": deleted}
