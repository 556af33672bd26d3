"""The resident's side of the appointments, around the booking services of `services.py`:

- the e-mails after a booking, a move or a cancellation, each with the iCalendar event
  (`ics.py`) and the signed management link, sent after the commit by a Celery task;
- the reminder the day before, by e-mail and by SMS when a mobile number was given
  (`send_reminders`, hourly by Celery beat; decision 0483);
- the waiting list: join, leave by a signed link, told when a seat frees up (decision 0484);
- the audit of refused management links.

`services.py` calls the `after_*` hooks inside its transactions."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mairie.core.audit.services import client_ip, record_event
from mairie.core.notifications.emails import language_for, site_url
from mairie.core.notifications.sms import SmsError, may_receive_sms, send_sms

from . import ics
from .models import Appointment, AppointmentType, Slot, WaitingListEntry

logger = logging.getLogger("mairie.appointments")

WAITING_SALT = "mairie.appointments.waiting-list"
BOOKED, MOVED, CANCELLED = "booked", "moved", "cancelled"


def base_url(organisation, request: HttpRequest | None = None) -> str:
    """Scheme and host for the links of an e-mail: the page's own when there is one."""
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return site_url(organisation)


def manage_url(appointment: Appointment, base: str) -> str:
    from .services import manage_token

    return base + reverse("appointments:manage", args=[manage_token(appointment)])


# --- Hooks, inside the booking services' transactions -----------------------------------


def _send_later(appointment: Appointment, kind: str, request) -> None:
    from .tasks import send_appointment_email

    pk, base = str(appointment.pk), base_url(appointment.organisation, request)
    transaction.on_commit(lambda: send_appointment_email.delay(pk, kind, base), robust=True)


def _tell_later(slot_id, organisation, request) -> None:
    from .tasks import tell_waiting_list

    pk, base = str(slot_id), base_url(organisation, request)
    transaction.on_commit(lambda: tell_waiting_list.delay(pk, base), robust=True)


def after_booked(appointment: Appointment, *, request=None) -> None:
    """The person's waiting-list entry for the type ends; the confirmation leaves after the
    commit."""
    same_person = Q(email_key=appointment.email_key)
    if appointment.account_id:
        same_person |= Q(account_id=appointment.account_id)
    WaitingListEntry.objects.filter(
        same_person, organisation_id=appointment.organisation_id,
        appointment_type_id=appointment.appointment_type_id,
        ended_at__isnull=True).update(ended_at=timezone.now())
    _send_later(appointment, BOOKED, request)


def after_moved(appointment: Appointment, *, old_slot_id, request=None) -> None:
    Appointment.objects.filter(pk=appointment.pk).update(sequence=F("sequence") + 1)
    _send_later(appointment, MOVED, request)
    _tell_later(old_slot_id, appointment.organisation, request)


def after_cancelled(appointment: Appointment, *, request=None) -> None:
    Appointment.objects.filter(pk=appointment.pk).update(sequence=F("sequence") + 1)
    _send_later(appointment, CANCELLED, request)
    _tell_later(appointment.slot_id, appointment.organisation, request)


def after_unblocked(slot: Slot, *, request=None) -> None:
    _tell_later(slot.pk, slot.organisation, request)


# --- E-mails ----------------------------------------------------------------------------


def _render(name: str, context: dict, *, language: str, zone) -> tuple[str, str]:
    with translation.override(language), timezone.override(zone):
        text = render_to_string(f"appointments/email/{name}.txt", context)
        html = render_to_string(f"appointments/email/{name}.html", context)
    return text, html


def _message(*, to: str, subject: str, text: str, html: str,
             language: str) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=[to],
                                     from_email=settings.DEFAULT_FROM_EMAIL,
                                     headers={"Content-Language": language,
                                              "Auto-Submitted": "auto-generated"})
    message.attach_alternative(html, "text/html")
    return message


def _appointment(pk) -> Appointment | None:
    return (Appointment.objects.filter(pk=pk)
            .select_related("organisation", "appointment_type", "slot__counter__organisation",
                            "account").first())


def _subject(kind: str, appointment: Appointment) -> str:
    start = timezone.localtime(appointment.slot.start, appointment.slot.counter.zone)
    values = {"type": appointment.appointment_type.name,
              "date": start.strftime("%d/%m/%Y"), "time": start.strftime("%H:%M")}
    if kind == MOVED:
        return _("Rendez-vous « %(type)s » déplacé au %(date)s à %(time)s") % values
    if kind == CANCELLED:
        return _("Rendez-vous « %(type)s » du %(date)s annulé") % values
    if kind == "reminder":
        return _("Rappel : rendez-vous « %(type)s » demain à %(time)s") % values
    return _("Rendez-vous « %(type)s » confirmé le %(date)s à %(time)s") % values


def appointment_email(appointment: Appointment, kind: str, *,
                      base: str) -> EmailMultiAlternatives:
    """The e-mail about `appointment` (booked, moved, cancelled, reminder), with its event."""
    organisation = appointment.organisation
    language = language_for(appointment.account, organisation)
    link = manage_url(appointment, base)
    context = {"appointment": appointment, "kind": kind, "organisation": organisation,
               "type": appointment.appointment_type, "slot": appointment.slot,
               "counter": appointment.slot.counter, "manage_url": link,
               "book_url": base + reverse("appointments:types")}
    zone = appointment.slot.counter.zone
    text, html = _render("appointment", context, language=language, zone=zone)
    with translation.override(language):
        subject = _subject(kind, appointment)
    message = _message(to=appointment.email, subject=subject, text=text, html=html,
                       language=language)
    method = ics.CANCEL if kind == CANCELLED else ics.REQUEST
    message.attach(ics.attachment(ics.appointment_calendar(
        appointment, method=method, manage_url="" if kind == CANCELLED else link),
        method=method))
    return message


def send_appointment_email(appointment_id, kind: str, base: str = "") -> bool:
    """Send the e-mail of what just happened to the appointment (the `send_appointment_email`
    task, after the commit). A confirmation is not sent for an appointment cancelled since."""
    appointment = _appointment(appointment_id)
    if appointment is None:
        return False
    if kind in (BOOKED, MOVED) and appointment.status != Appointment.Status.BOOKED:
        return False
    appointment_email(appointment, kind, base=base or site_url(appointment.organisation)).send()
    if kind == BOOKED:
        Appointment.objects.filter(pk=appointment.pk).update(confirmation_sent_at=timezone.now())
    return True


# --- Reminders the day before -------------------------------------------------------------


def _reminder_text(appointment: Appointment, language: str) -> str:
    start = timezone.localtime(appointment.slot.start, appointment.slot.counter.zone)
    with translation.override(language):
        return _("%(org)s : rappel de votre rendez-vous « %(type)s » demain à %(time)s, "
                 "%(place)s. Pour l'annuler ou le déplacer, utilisez le lien du courriel "
                 "de confirmation.") % {
            "org": appointment.organisation.name, "type": appointment.appointment_type.name,
            "time": start.strftime("%H:%M"), "place": appointment.slot.counter.name}


def send_reminders(now: datetime.datetime | None = None) -> int:
    """Remind each booked appointment of tomorrow (in its counter's time zone) once, from
    `APPOINTMENTS_REMINDER_HOUR` local time: an e-mail, and an SMS when the phone is a mobile.
    Each appointment is claimed (`reminded_at`) before anything leaves, so two runs never
    send twice; a failing SMS or e-mail is logged and the others go on. Returns how many
    appointments were reminded."""
    now = now or timezone.now()
    hour = getattr(settings, "APPOINTMENTS_REMINDER_HOUR", 10)
    candidates = (Appointment.objects.filter(status=Appointment.Status.BOOKED,
                                             reminded_at__isnull=True, starts_at__gt=now,
                                             starts_at__lt=now + datetime.timedelta(hours=50))
                  .select_related("organisation", "appointment_type",
                                  "slot__counter__organisation", "account")
                  .order_by("starts_at"))
    reminded = 0
    for appointment in candidates.iterator(chunk_size=500):
        zone = appointment.slot.counter.zone
        local_now = now.astimezone(zone)
        tomorrow = local_now.date() + datetime.timedelta(days=1)
        if local_now.hour < hour or appointment.starts_at.astimezone(zone).date() != tomorrow:
            continue
        if not Appointment.objects.filter(pk=appointment.pk, reminded_at__isnull=True,
                                          status=Appointment.Status.BOOKED).update(
                reminded_at=now):
            continue  # another run took it
        reminded += 1
        organisation = appointment.organisation
        try:
            appointment_email(appointment, "reminder", base=site_url(organisation)).send()
        except Exception:
            logger.exception("appointments: reminder e-mail of %s not sent", appointment.pk)
        if appointment.phone and may_receive_sms(appointment.phone, organisation.country):
            try:
                send_sms(to=appointment.phone, country=organisation.country,
                         text=_reminder_text(appointment,
                                             language_for(appointment.account, organisation)))
            except (SmsError, OSError) as exc:
                logger.warning("appointments: reminder SMS of %s not sent: %s",
                               appointment.pk, exc)
            except Exception:
                logger.exception("appointments: reminder SMS of %s not sent", appointment.pk)
    return reminded


# --- Waiting list ---------------------------------------------------------------------------


class InvalidWaitingLink(Exception):
    pass


def waiting_token(entry: WaitingListEntry) -> str:
    return signing.dumps(str(entry.pk), salt=WAITING_SALT)


def entry_for_token(*, token: str, organisation) -> WaitingListEntry:
    try:
        pk = signing.loads(token, salt=WAITING_SALT)
    except signing.BadSignature:
        raise InvalidWaitingLink() from None
    entry = (WaitingListEntry.objects.filter(organisation=organisation, pk=pk)
             .select_related("appointment_type", "counter").first())
    if entry is None:
        raise InvalidWaitingLink()
    return entry


def join_waiting_list(*, appointment_type: AppointmentType, name: str, email: str,
                      phone: str = "", counter=None, wanted_until=None, account=None,
                      request: HttpRequest | None = None) -> WaitingListEntry:
    """Put the person on the type's waiting list, or update their entry if they already are
    on it (one active entry per e-mail and type)."""
    organisation = appointment_type.organisation
    name, email = (name or "").strip(), (email or "").strip()
    if account is not None:
        name = name or account.get_full_name() or account.email
        email = email or account.email
    if not name or not email:
        raise ValidationError(_("Indiquez votre nom et votre adresse électronique."))
    if counter is not None and not appointment_type.counters.filter(pk=counter.pk).exists():
        raise ValidationError({"counter": _("Ce lieu ne reçoit pas ce rendez-vous.")})
    today = timezone.localdate(timezone=organisation_zone(organisation))
    if wanted_until is not None and wanted_until < today:
        raise ValidationError({"wanted_until": _("Cette date est déjà passée.")})
    email_key = email.lower()
    with transaction.atomic():
        entry = (WaitingListEntry.objects.select_for_update()
                 .filter(organisation=organisation, appointment_type=appointment_type,
                         email_key=email_key, ended_at__isnull=True).first())
        if entry is None:
            entry = WaitingListEntry.objects.create(
                organisation=organisation, appointment_type=appointment_type, counter=counter,
                account=account, name=name[:200], email=email, email_key=email_key,
                phone=(phone or "").strip()[:30], wanted_until=wanted_until)
            action = "appointments.waiting_list_joined"
        else:
            entry.counter, entry.wanted_until, entry.name = counter, wanted_until, name[:200]
            entry.phone = (phone or "").strip()[:30] or entry.phone
            entry.save(update_fields=["counter", "wanted_until", "name", "phone",
                                      "updated_at"])
            action = "appointments.waiting_list_updated"
        record_event(organisation=organisation, action=action, actor=account, obj=entry,
                     request=request,
                     details={"type": str(appointment_type.pk),
                              "counter": str(counter.pk) if counter else None,
                              "until": wanted_until.isoformat() if wanted_until else None})
    return entry


def leave_waiting_list(entry: WaitingListEntry, *, request: HttpRequest | None = None) -> bool:
    """End the entry (the unsubscribe link); False if it had already ended."""
    with transaction.atomic():
        if not WaitingListEntry.objects.filter(pk=entry.pk, ended_at__isnull=True).update(
                ended_at=timezone.now()):
            return False
        record_event(organisation=entry.organisation, action="appointments.waiting_list_left",
                     obj=entry, request=request)
    return True


def organisation_zone(organisation):
    import zoneinfo

    return zoneinfo.ZoneInfo(organisation.time_zone)


def tell_waiting_list(slot_id, base: str = "") -> int:
    """A seat of the slot freed up (a cancellation, a move, the slot given back): e-mail the
    first active entries that suit it — its counter or any, wanted up to its day or without
    date — fewest times told first, then first come (decision 0484), at most
    `APPOINTMENTS_WAITING_LIST_PER_SEAT` per free seat. Entries past their date end here.
    Returns how many were told."""
    from .queries import booking_window

    slot = (Slot.objects.filter(pk=slot_id)
            .select_related("appointment_type__organisation", "counter__organisation").first())
    if slot is None or not slot.is_free:
        return 0
    appointment_type, organisation = slot.appointment_type, slot.appointment_type.organisation
    opens, closes = booking_window(appointment_type)
    if not appointment_type.is_active or not opens <= slot.start <= closes:
        return 0
    now = timezone.now()
    today = timezone.localdate(now, timezone=organisation_zone(organisation))
    active = WaitingListEntry.objects.filter(organisation=organisation,
                                             appointment_type=appointment_type,
                                             ended_at__isnull=True)
    active.filter(wanted_until__lt=today).update(ended_at=now)
    day = timezone.localtime(slot.start, slot.counter.zone).date()
    per_seat = getattr(settings, "APPOINTMENTS_WAITING_LIST_PER_SEAT", 3)
    entries = list(active.filter(Q(counter__isnull=True) | Q(counter=slot.counter))
                   .filter(Q(wanted_until__isnull=True) | Q(wanted_until__gte=day))
                   .order_by("notified_count", "created_at")[:max(1, per_seat * slot.free_seats)])
    base = base or site_url(organisation)
    book = base + reverse("appointments:book", args=[appointment_type.pk, slot.pk])
    told = 0
    for entry in entries:
        if not WaitingListEntry.objects.filter(pk=entry.pk, ended_at__isnull=True).update(
                last_notified_at=now, notified_count=F("notified_count") + 1):
            continue
        language = language_for(entry.account, organisation)
        context = {"entry": entry, "slot": slot, "type": appointment_type,
                   "counter": slot.counter, "organisation": organisation, "book_url": book,
                   "unsubscribe_url": base + reverse("appointments:waiting-list-leave",
                                                     args=[waiting_token(entry)]),
                   "slots_url": base + reverse("appointments:free-slots",
                                               args=[appointment_type.pk])}
        text, html = _render("waiting", context, language=language, zone=slot.counter.zone)
        with translation.override(language):
            subject = _("Une place s'est libérée : rendez-vous « %(type)s »") % {
                "type": appointment_type.name}
        try:
            _message(to=entry.email, subject=subject, text=text, html=html,
                     language=language).send()
        except Exception:
            logger.exception("appointments: waiting-list e-mail to entry %s not sent", entry.pk)
            continue
        told += 1
    return told


# --- Refused links ----------------------------------------------------------------------------


def link_refused(request: HttpRequest, *, kind: str) -> None:
    """Audit a tampered or truncated link, once an hour per address (a robot trying links
    must not fill the audit trail)."""
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        return
    if not cache.add(f"appointments:link-refused:{kind}:{client_ip(request)}", 1, timeout=3600):
        return
    record_event(organisation=organisation, action="appointments.link_refused",
                 request=request, details={"link": kind})
