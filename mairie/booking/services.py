"""Every write of the booking app: resources, reservations (single or recurring), approvals,
cancellations, equipment loans and the secrets of the iCalendar feeds.

No double booking: each reservation is written while the resource's row is locked
(`select_for_update` on PostgreSQL; on SQLite every transaction takes the write lock at BEGIN,
`transaction_mode=IMMEDIATE`), after an overlap check; on PostgreSQL an exclusion constraint
refuses an overlap whatever path wrote it (decision 0477)."""

from __future__ import annotations

import datetime
import itertools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from mairie.core.audit.services import record_event
from mairie.core.notifications.kinds import register_kind
from mairie.core.notifications.services import notify
from mairie.core.organisation.models import Role, Service

from . import rules
from .models import BookingRight, FeedToken, Loan, Reservation, ReservationSeries, Resource
from .queries import overlapping

if TYPE_CHECKING:
    from mairie.core.users.models import User

KIND_TO_DECIDE = "booking.request_to_decide"
KIND_DECIDED = "booking.reservation_decided"
KIND_CANCELLED = "booking.reservation_cancelled"
KIND_LOAN = "booking.loan"

NO_OVERLAP_CONSTRAINT = "booking_reservation_no_overlap"
MAX_OCCURRENCES = 200


def register() -> None:
    register_kind(KIND_TO_DECIDE, gettext_lazy("Réservations à valider"),
                  description=gettext_lazy("Une réservation d'une ressource que vous validez "
                                           "attend votre décision."), for_residents=False)
    register_kind(KIND_DECIDED, gettext_lazy("Décision sur mes réservations"),
                  description=gettext_lazy("Votre demande de réservation est acceptée ou "
                                           "refusée."), for_residents=False)
    register_kind(KIND_CANCELLED, gettext_lazy("Réservations annulées"),
                  description=gettext_lazy("Une de vos réservations est annulée par le service "
                                           "gestionnaire."), for_residents=False)
    register_kind(KIND_LOAN, gettext_lazy("Prêts de matériel"),
                  description=gettext_lazy("Matériel qui vous est prêté, et rappel quand la "
                                           "date de retour est passée."), for_residents=False)


# --- Errors and reports ---------------------------------------------------------------------


class Conflict(ValidationError):
    """The slot is taken: `clash` is the reservation that holds it (None when the database
    refused it without saying which)."""

    def __init__(self, message: str, *, clash: Reservation | None = None):
        super().__init__(message, code="conflict")
        self.clash = clash


@dataclass
class Clash:
    """One occurrence of a series that was not booked, and why."""

    start: datetime.datetime
    end: datetime.datetime
    reason: str
    reservation: Reservation | None = None

    @property
    def date(self) -> datetime.date:
        return self.start.date()


@dataclass
class SeriesResult:
    """What `reserve_series` booked, and the occurrences it could not book (the conflict
    report). `series` is None when no occurrence was free."""

    series: ReservationSeries | None
    reservations: list[Reservation] = field(default_factory=list)
    conflicts: list[Clash] = field(default_factory=list)


def local(moment: datetime.datetime, organisation) -> datetime.datetime:
    return timezone.localtime(moment, zoneinfo.ZoneInfo(organisation.time_zone))


def _span(start: datetime.datetime, end: datetime.datetime, organisation) -> str:
    begin, finish = local(start, organisation), local(end, organisation)
    if begin.date() == finish.date():
        return f"{begin:%d/%m/%Y} {begin:%H:%M}–{finish:%H:%M}"
    return f"{begin:%d/%m/%Y %H:%M} – {finish:%d/%m/%Y %H:%M}"


def _person(user: User | None) -> str:
    """How a booker or a borrower is named in a message: their full name, else the account
    itself; a neutral label once the account was erased (SET_NULL)."""
    if user is None:
        return _("compte supprimé")
    return user.get_full_name() or str(user)


def _clash_message(other: Reservation) -> str:
    return _("%(resource)s est déjà réservée le %(span)s par %(who)s.") % {
        "resource": other.resource.name, "who": _person(other.booker),
        "span": _span(other.start, other.end, other.organisation)}


def _duration_label(duration: datetime.timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes:02d}"
    return f"{hours} h" if hours else f"{minutes} min"


# --- Rules of a resource --------------------------------------------------------------------


def _window_end(resource: Resource, now: datetime.datetime) -> datetime.date:
    return local(now, resource.organisation).date() + datetime.timedelta(
        days=resource.max_days_ahead)


def _check_rules(resource: Resource, start: datetime.datetime, end: datetime.datetime,
                 now: datetime.datetime) -> None:
    """The rules that hold for any occurrence: order, past, window, maximum duration."""
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("Reservations take aware datetimes.")
    if end <= start:
        raise ValidationError({"end": _("La fin doit être après le début.")})
    if start < now:
        raise ValidationError({"start": _("Ce créneau est déjà passé.")})
    last_day = _window_end(resource, now)
    if local(start, resource.organisation).date() > last_day:
        raise ValidationError({"start": _(
            "%(resource)s se réserve au plus %(days)s jours à l'avance, soit jusqu'au "
            "%(date)s.") % {"resource": resource.name, "days": resource.max_days_ahead,
                            "date": last_day.strftime("%d/%m/%Y")}})
    if resource.max_duration and end - start > resource.max_duration:
        raise ValidationError({"end": _(
            "Une réservation de %(resource)s dure au plus %(duration)s.") % {
                "resource": resource.name,
                "duration": _duration_label(resource.max_duration)}})


def _quota_problem(actor, resource: Resource, start: datetime.datetime,
                   end: datetime.datetime, now: datetime.datetime) -> str | None:
    """Why one more reservation by `actor` would pass the resource's quotas, or None."""
    mine = Reservation.objects.filter(resource=resource, booker=actor,
                                      state__in=Reservation.ACTIVE_STATES)
    if resource.quota_future_reservations is not None:
        count = mine.filter(end__gt=now).count()
        if count + 1 > resource.quota_future_reservations:
            return ngettext(
                "Vous avez déjà %(count)d réservation à venir de %(resource)s : c'est le "
                "maximum par personne.",
                "Vous avez déjà %(count)d réservations à venir de %(resource)s : c'est le "
                "maximum par personne.", count) % {"count": count, "resource": resource.name}
    if resource.quota_hours_per_week is not None:
        begin = local(start, resource.organisation)
        monday = (begin - datetime.timedelta(days=begin.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0)
        week_start = monday.replace(tzinfo=None)
        tz = zoneinfo.ZoneInfo(resource.organisation.time_zone)
        week = (timezone.make_aware(week_start, tz),
                timezone.make_aware(week_start + datetime.timedelta(days=7), tz))
        booked = sum(((r.end - r.start) for r in mine.filter(start__lt=week[1],
                                                             end__gt=week[0])
                      .only("start", "end")), datetime.timedelta())
        if booked + (end - start) > datetime.timedelta(hours=resource.quota_hours_per_week):
            return _("Cette réservation dépasse les %(hours)s heures de %(resource)s par "
                     "personne et par semaine (déjà %(booked)s la semaine du %(monday)s).") % {
                "hours": resource.quota_hours_per_week, "resource": resource.name,
                "booked": _duration_label(booked), "monday": monday.strftime("%d/%m/%Y")}
    return None


def _first_clash(resource: Resource, start: datetime.datetime,
                 end: datetime.datetime) -> Reservation | None:
    return (Reservation.objects.filter(overlapping(start, end), resource=resource)
            .select_related("booker", "resource", "organisation").order_by("start").first())


def _locked(resource: Resource) -> Resource:
    """The resource's row, locked until the transaction ends: writers of one resource queue
    here. (SQLite has no row locks: there the IMMEDIATE transaction already holds the
    database's write lock.)"""
    return (Resource.objects.select_for_update().select_related("organisation")
            .get(pk=resource.pk))


def _insert(**values) -> Reservation:
    """Create the reservation; the exclusion constraint's refusal becomes a Conflict."""
    try:
        with transaction.atomic():
            return Reservation.objects.create(**values)
    except IntegrityError as exc:
        if NO_OVERLAP_CONSTRAINT in str(exc):
            raise Conflict(_("Ce créneau vient d'être pris.")) from exc
        raise


def _state_for(actor, resource: Resource) -> str:
    if resource.requires_approval and not rules.may_approve(actor, resource):
        return Reservation.State.REQUESTED
    return Reservation.State.CONFIRMED


def _approvers(resource: Resource) -> list:
    User = get_user_model()
    users = list(User.objects.filter(
        is_active=True, organisation_id=resource.organisation_id,
        memberships__service_id=resource.approving_service_id,
        memberships__role=resource.approver_role).distinct())
    if not users:  # nobody holds the role: the administrators decide
        users = list(User.objects.filter(
            is_active=True, organisation_id=resource.organisation_id,
            memberships__organisation_id=resource.organisation_id,
            memberships__role=Role.ADMINISTRATOR).distinct())
    return users


def _page_url(name: str = "booking:resources") -> str:
    return reverse(name)


def duration_label(duration: datetime.timedelta) -> str:
    return _duration_label(duration)


def _ask_approval(actor, reservation: Reservation, occurrences: int = 1) -> None:
    resource = reservation.resource
    title = _("%(who)s demande à réserver %(resource)s le %(span)s") % {
        "who": actor.get_full_name() or actor, "resource": resource.name,
        "span": _span(reservation.start, reservation.end, resource.organisation)}
    if occurrences > 1:
        title += " " + ngettext("(%(count)d occurrence)", "(%(count)d occurrences)",
                                occurrences) % {"count": occurrences}
    notify(organisation=resource.organisation, recipients=_approvers(resource),
           kind=KIND_TO_DECIDE, title=title, body=reservation.title, actor=actor,
           about=reservation, url=_page_url("booking:approvals"))


def _audit(action: str, actor, obj, request=None, **details) -> None:
    record_event(organisation=obj.organisation, action=action, actor=actor, obj=obj,
                 request=request, details=details)


# --- Reservations ---------------------------------------------------------------------------


@transaction.atomic
def reserve(*, actor, resource: Resource, start: datetime.datetime, end: datetime.datetime,
            title: str = "", request: HttpRequest | None = None,
            now: datetime.datetime | None = None) -> Reservation:
    """Book `resource` over [start, end) for `actor`: confirmed, or requested when the
    resource needs an approval that `actor` cannot give. Raises PermissionDenied, a
    ValidationError naming the broken rule, or Conflict with the reservation that holds the
    slot."""
    now = now or timezone.now()
    if not rules.may_book(actor, resource):
        raise PermissionDenied
    resource = _locked(resource)
    _check_rules(resource, start, end, now)
    clash = _first_clash(resource, start, end)
    if clash is not None:
        raise Conflict(_clash_message(clash), clash=clash)
    problem = _quota_problem(actor, resource, start, end, now)
    if problem:
        raise ValidationError(problem, code="quota")
    reservation = _insert(organisation=resource.organisation, resource=resource, booker=actor,
                          title=title[:200], start=start, end=end,
                          state=_state_for(actor, resource))
    _audit("booking.reserved", actor, reservation, request, resource=str(resource.pk),
           start=start.isoformat(), end=end.isoformat(), state=reservation.state)
    if reservation.state == Reservation.State.REQUESTED:
        _ask_approval(actor, reservation)
    return reservation


def _clean_rule(text: str) -> str:
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:].strip()
    if not text:
        raise ValidationError({"rrule": _("Indiquez la règle de récurrence.")})
    if "\n" in text or "\r" in text or ":" in text:
        raise ValidationError({"rrule": _(
            "Indiquez une seule règle de récurrence (RRULE), sans DTSTART, RDATE ni EXDATE : "
            "la première occurrence est le créneau choisi.")})
    return text


def occurrences_of(rule_text: str, start: datetime.datetime, organisation,
                   limit: int = MAX_OCCURRENCES) -> list[datetime.datetime]:
    """The starts of the recurrence `rule_text` (RFC 5545 RRULE) from `start`, computed in the
    organisation's local time (wall-clock recurrence across daylight saving), made aware.
    Refuses a rule that does not parse, has no end (COUNT or UNTIL) or passes `limit`."""
    text = _clean_rule(rule_text)
    tz = zoneinfo.ZoneInfo(organisation.time_zone)
    first = timezone.localtime(start, tz)
    try:
        try:
            parsed = rrulestr(text, dtstart=first.replace(tzinfo=None))
        except ValueError as exc:
            if "UNTIL" not in str(exc):
                raise
            parsed = rrulestr(text, dtstart=first)  # UNTIL given in UTC ("…Z")
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValidationError({"rrule": _(
            "La règle de récurrence n'est pas valide (%(error)s).") % {"error": exc}}) from exc
    if not isinstance(parsed, RRule):
        raise ValidationError({"rrule": _("Indiquez une seule règle de récurrence.")})
    if parsed._count is None and parsed._until is None:
        raise ValidationError({"rrule": _(
            "La récurrence n'a pas de fin : indiquez un nombre d'occurrences (COUNT) ou une "
            "date de fin (UNTIL).")})
    found = list(itertools.islice(parsed, limit + 1))
    if len(found) > limit:
        raise ValidationError({"rrule": _(
            "La récurrence donne plus de %(limit)d occurrences : raccourcissez-la.") % {
                "limit": limit}})
    if not found:
        raise ValidationError({"rrule": _("Cette récurrence ne donne aucune occurrence.")})
    return [moment if moment.tzinfo else timezone.make_aware(moment, tz) for moment in found]


@transaction.atomic
def reserve_series(*, actor, resource: Resource, start: datetime.datetime,
                   end: datetime.datetime, rrule: str, title: str = "",
                   request: HttpRequest | None = None,
                   now: datetime.datetime | None = None) -> SeriesResult:
    """Book every free occurrence of a recurring reservation; the others come back in the
    conflict report (`SeriesResult.conflicts`: date, and the reservation or quota in the way).
    A rule that cannot be read, never ends, gives no occurrence or reaches beyond the booking
    window raises a ValidationError and books nothing."""
    now = now or timezone.now()
    if not rules.may_book(actor, resource):
        raise PermissionDenied
    resource = _locked(resource)
    organisation = resource.organisation
    duration = end - start
    starts = occurrences_of(rrule, start, organisation)
    last_day = _window_end(resource, now)
    if local(starts[-1], organisation).date() > last_day:
        raise ValidationError({"rrule": _(
            "La dernière occurrence (%(last)s) dépasse la fenêtre de réservation de "
            "%(resource)s (%(days)s jours) : terminez la série au plus tard le %(date)s.") % {
                "last": local(starts[-1], organisation).strftime("%d/%m/%Y"),
                "resource": resource.name, "days": resource.max_days_ahead,
                "date": last_day.strftime("%d/%m/%Y")}})
    for moment in (starts[0], starts[-1]):
        _check_rules(resource, moment, moment + duration, now)
    state = _state_for(actor, resource)
    result = SeriesResult(series=None)
    for moment in starts:
        finish = moment + duration
        clash = _first_clash(resource, moment, finish)
        if clash is not None:
            result.conflicts.append(Clash(moment, finish, _clash_message(clash), clash))
            continue
        problem = _quota_problem(actor, resource, moment, finish, now)
        if problem:
            result.conflicts.append(Clash(moment, finish, problem))
            continue
        if result.series is None:
            result.series = ReservationSeries.objects.create(
                organisation=organisation, resource=resource, booker=actor, title=title[:200],
                first_start=starts[0], duration=duration, rrule=_clean_rule(rrule))
        try:
            reservation = _insert(organisation=organisation, resource=resource, booker=actor,
                                  title=title[:200], start=moment, end=finish, state=state,
                                  series=result.series)
        except Conflict as exc:
            result.conflicts.append(Clash(moment, finish, exc.messages[0]))
            continue
        result.reservations.append(reservation)
    if result.series is not None:
        _audit("booking.series_reserved", actor, result.series, request,
               resource=str(resource.pk), rrule=result.series.rrule, state=state,
               booked=len(result.reservations),
               conflicts=[clash.start.isoformat() for clash in result.conflicts])
        if state == Reservation.State.REQUESTED:
            _ask_approval(actor, result.reservations[0], len(result.reservations))
    return result


class _Preview(Exception):
    def __init__(self, result: SeriesResult):
        super().__init__("preview")
        self.result = result


def preview_series(*, actor, resource: Resource, start: datetime.datetime,
                   end: datetime.datetime, rrule: str, title: str = "",
                   now: datetime.datetime | None = None) -> SeriesResult:
    """What `reserve_series` would book, and its conflict report, with nothing kept: the
    series is booked inside a savepoint that is then rolled back (rows, audit events and the
    notifications' on-commit deliveries go with it), so the report follows exactly the rules
    of the real booking, quotas counted occurrence by occurrence (decision 0488). Raises what
    `reserve_series` raises. The returned reservations are not saved."""
    try:
        with transaction.atomic():
            raise _Preview(reserve_series(actor=actor, resource=resource, start=start, end=end,
                                          rrule=rrule, title=title, now=now))
    except _Preview as preview:
        return preview.result


def _decidable(reservation: Reservation, whole_series: bool) -> list[Reservation]:
    reservations = Reservation.objects.select_for_update(of=("self",)).filter(
        state=Reservation.State.REQUESTED)
    if whole_series and reservation.series_id:
        reservations = reservations.filter(series_id=reservation.series_id)
    else:
        reservations = reservations.filter(pk=reservation.pk)
    found = list(reservations.select_related("resource", "booker", "organisation")
                 .order_by("start"))
    if not found:
        raise ValidationError(_("Cette demande a déjà été traitée."))
    return found


def _tell_booker(actor, reservations: list[Reservation], kind: str, title: str,
                 body: str = "") -> None:
    first = reservations[0]
    if first.booker_id == actor.pk:
        return
    if len(reservations) > 1:
        title += " " + ngettext("(%(count)d occurrence)", "(%(count)d occurrences)",
                                len(reservations)) % {"count": len(reservations)}
    notify(organisation=first.organisation, recipients=[first.booker], kind=kind, title=title,
           body=body, actor=actor, about=first, url=_page_url("booking:mine"))


@transaction.atomic
def approve(*, actor, reservation: Reservation, whole_series: bool = False,
            request: HttpRequest | None = None) -> list[Reservation]:
    """Confirm a request (or every pending occurrence of its series); the booker is told."""
    if not rules.may_approve(actor, reservation.resource):
        raise PermissionDenied
    decided = _decidable(reservation, whole_series)
    now = timezone.now()
    Reservation.objects.filter(pk__in=[r.pk for r in decided]).update(
        state=Reservation.State.CONFIRMED, decided_by=actor, decided_at=now, updated_at=now)
    for item in decided:
        item.state, item.decided_by, item.decided_at = Reservation.State.CONFIRMED, actor, now
    _audit("booking.approved", actor, decided[0], request, count=len(decided))
    first = decided[0]
    _tell_booker(actor, decided, KIND_DECIDED, _(
        "Votre réservation de %(resource)s le %(span)s est acceptée") % {
            "resource": first.resource.name,
            "span": _span(first.start, first.end, first.organisation)})
    return decided


@transaction.atomic
def refuse(*, actor, reservation: Reservation, reason: str, whole_series: bool = False,
           request: HttpRequest | None = None) -> list[Reservation]:
    """Refuse a request (or every pending occurrence of its series), saying why; the slot is
    free again and the booker is told."""
    if not rules.may_approve(actor, reservation.resource):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Indiquez le motif du refus.")})
    decided = _decidable(reservation, whole_series)
    now = timezone.now()
    Reservation.objects.filter(pk__in=[r.pk for r in decided]).update(
        state=Reservation.State.REFUSED, decided_by=actor, decided_at=now,
        refusal_reason=reason, updated_at=now)
    for item in decided:
        item.state, item.refusal_reason = Reservation.State.REFUSED, reason
    _audit("booking.refused", actor, decided[0], request, count=len(decided), reason=reason)
    first = decided[0]
    _tell_booker(actor, decided, KIND_DECIDED, _(
        "Votre réservation de %(resource)s le %(span)s est refusée") % {
            "resource": first.resource.name,
            "span": _span(first.start, first.end, first.organisation)}, body=reason)
    return decided


@transaction.atomic
def cancel(*, actor, reservation: Reservation, reason: str = "", whole_series: bool = False,
           request: HttpRequest | None = None) -> list[Reservation]:
    """Cancel a reservation, or with `whole_series` every active occurrence of its series from
    this one on. The booker is told when someone else cancels."""
    if not rules.may_cancel(actor, reservation):
        raise PermissionDenied
    active = Reservation.objects.select_for_update(of=("self",)).filter(
        state__in=Reservation.ACTIVE_STATES)
    if whole_series and reservation.series_id:
        active = active.filter(series_id=reservation.series_id, start__gte=reservation.start)
    else:
        active = active.filter(pk=reservation.pk)
    cancelled = list(active.select_related("resource", "booker", "organisation")
                     .order_by("start"))
    if not cancelled:
        raise ValidationError(_("Cette réservation est déjà annulée ou refusée."))
    now = timezone.now()
    Reservation.objects.filter(pk__in=[r.pk for r in cancelled]).update(
        state=Reservation.State.CANCELLED, cancelled_by=actor, cancelled_at=now,
        updated_at=now)
    for item in cancelled:
        item.state = Reservation.State.CANCELLED
    _audit("booking.cancelled", actor, cancelled[0], request, count=len(cancelled),
           reason=reason)
    first = cancelled[0]
    _tell_booker(actor, cancelled, KIND_CANCELLED, _(
        "Votre réservation de %(resource)s le %(span)s est annulée") % {
            "resource": first.resource.name,
            "span": _span(first.start, first.end, first.organisation)}, body=reason)
    return cancelled


# --- Resources ------------------------------------------------------------------------------


def may_create_resource(actor, service: Service) -> bool:
    pairs = rules.pairs_of(actor, service.organisation)
    return any(role == Role.ADMINISTRATOR or (service_id == service.pk and role == Role.MANAGER)
               for service_id, role in pairs)


@transaction.atomic
def create_resource(*, actor, service: Service, kind: str, name: str,
                    rights: Iterable[tuple[Service | None, str]] = (),
                    request: HttpRequest | None = None, **fields) -> Resource:
    """A new resource owned by `service` (its manager or an administrator creates it), with
    its "may book" lines (`rights`: (service or None, role or "")) and its rules."""
    if not may_create_resource(actor, service):
        raise PermissionDenied
    organisation = service.organisation
    if kind not in Resource.Kind.values:
        raise ValidationError({"kind": _("Choisissez le type de ressource.")})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Indiquez le nom de la ressource.")})
    if Resource.objects.filter(organisation=organisation, kind=kind, name=name).exists():
        raise ValidationError({"name": _("Une ressource de ce type porte déjà ce nom.")})
    approver_service = fields.get("approver_service")
    for other in [approver_service, *(s for s, _role in rights)]:
        if other is not None and other.organisation_id != organisation.pk:
            raise ValidationError(_("Ce service n'appartient pas à la collectivité."))
    resource = Resource(organisation=organisation, service=service, kind=kind, name=name,
                        **fields)
    resource.full_clean()
    resource.save()
    for right_service, role in rights:
        if role and role not in Role.values:
            raise ValidationError({"rights": _("Rôle inconnu.")})
        BookingRight.objects.get_or_create(resource=resource, service=right_service,
                                           role=role or "")
    _audit("booking.resource_created", actor, resource, request, kind=kind)
    return resource


def may_edit_resource(actor, resource: Resource) -> bool:
    """Whoever may create a resource in its service edits or deactivates it."""
    return may_create_resource(actor, resource.service)


def _replace_rights(resource: Resource, rights: Iterable[tuple[Service | None, str]]) -> bool:
    wanted = set()
    for right_service, role in rights:
        if role and role not in Role.values:
            raise ValidationError({"rights": _("Rôle inconnu.")})
        if right_service is not None and right_service.organisation_id != resource.organisation_id:
            raise ValidationError(_("Ce service n'appartient pas à la collectivité."))
        wanted.add((right_service.pk if right_service else None, role or ""))
    current = {(right.service_id, right.role): right.pk for right in resource.rights.all()}
    if set(current) == wanted:
        return False
    BookingRight.objects.filter(pk__in=[pk for line, pk in current.items()
                                        if line not in wanted]).delete()
    BookingRight.objects.bulk_create([BookingRight(resource=resource, service_id=service_id,
                                                   role=role)
                                      for service_id, role in wanted - set(current)])
    return True


EDITABLE_FIELDS = ("kind", "name", "service", "description", "location", "capacity",
                   "equipment", "inventory_number", "accessible", "accessibility_notes",
                   "max_days_ahead", "max_duration", "requires_approval", "approver_service",
                   "approver_role", "quota_hours_per_week", "quota_future_reservations")


@transaction.atomic
def update_resource(*, actor, resource: Resource,
                    rights: Iterable[tuple[Service | None, str]] | None = None,
                    request: HttpRequest | None = None, **fields) -> Resource:
    """Change a resource's description and rules (and, with `rights`, its "may book" lines).
    Moving it to another service needs the right to create resources there too. The audit
    event names the changed fields."""
    resource = _locked(resource)
    if not may_edit_resource(actor, resource):
        raise PermissionDenied
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    organisation = resource.organisation
    new_service = fields.get("service")
    if new_service is not None and new_service.pk != resource.service_id:
        if new_service.organisation_id != organisation.pk:
            raise ValidationError(_("Ce service n'appartient pas à la collectivité."))
        if not may_create_resource(actor, new_service):
            raise ValidationError({"service": _(
                "Vous ne gérez pas ce service : vous ne pouvez pas lui confier la ressource.")})
    approver_service = fields.get("approver_service")
    if approver_service is not None and approver_service.organisation_id != organisation.pk:
        raise ValidationError(_("Ce service n'appartient pas à la collectivité."))
    if "kind" in fields and fields["kind"] not in Resource.Kind.values:
        raise ValidationError({"kind": _("Choisissez le type de ressource.")})
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise ValidationError({"name": _("Indiquez le nom de la ressource.")})
    kind, name = fields.get("kind", resource.kind), fields.get("name", resource.name)
    if Resource.objects.filter(organisation=organisation, kind=kind, name=name) \
            .exclude(pk=resource.pk).exists():
        raise ValidationError({"name": _("Une ressource de ce type porte déjà ce nom.")})
    if kind != Resource.Kind.EQUIPMENT and resource.kind == Resource.Kind.EQUIPMENT and \
            Loan.objects.filter(resource=resource, returned_at__isnull=True).exists():
        raise ValidationError({"kind": _("Ce matériel est prêté : attendez son retour pour "
                                         "en changer le type.")})
    changed = [name for name, value in fields.items() if getattr(resource, name) != value]
    for name, value in fields.items():
        setattr(resource, name, value)
    resource.full_clean()
    resource.save()
    if rights is not None and _replace_rights(resource, rights):
        changed.append("rights")
    if changed:
        _audit("booking.resource_updated", actor, resource, request, changed=sorted(changed))
    return resource


@transaction.atomic
def set_resource_active(*, actor, resource: Resource, active: bool,
                        request: HttpRequest | None = None) -> Resource:
    """Take a resource out of booking (or back). Its reservations stay as they are: the
    page tells the manager how many are still to come."""
    resource = _locked(resource)
    if not may_edit_resource(actor, resource):
        raise PermissionDenied
    if resource.is_active != active:
        resource.is_active = active
        resource.save(update_fields=["is_active", "updated_at"])
        _audit("booking.resource_reactivated" if active else "booking.resource_deactivated",
               actor, resource, request)
    return resource


@transaction.atomic
def reset_resource_feed(*, actor, resource: Resource) -> Resource:
    """A new secret for the resource's iCalendar feed: the old address stops working."""
    if not rules.manages(actor, resource):
        raise PermissionDenied
    from .models import new_feed_token

    resource.feed_token = new_feed_token()
    resource.save(update_fields=["feed_token", "updated_at"])
    _audit("booking.resource_feed_reset", actor, resource)
    return resource


@transaction.atomic
def feed_token_for(*, actor, organisation, reset: bool = False) -> FeedToken:
    """The secret of `actor`'s own feed of reservations (created on first use)."""
    if not rules.is_agent_of(actor, organisation):
        raise PermissionDenied
    token, created = FeedToken.objects.get_or_create(user=actor,
                                                     defaults={"organisation": organisation})
    if reset and not created:
        from .models import new_feed_token

        token.token = new_feed_token()
        token.save(update_fields=["token", "updated_at"])
        _audit("booking.feed_reset", actor, token)
    return token


# --- Loans ----------------------------------------------------------------------------------


def _today(organisation, now: datetime.datetime | None = None) -> datetime.date:
    return local(now or timezone.now(), organisation).date()


@transaction.atomic
def check_out(*, actor, resource: Resource, borrower, due_on: datetime.date,
              condition_out: str = "", request: HttpRequest | None = None) -> Loan:
    """Lend an equipment item to an agent of the organisation until `due_on`."""
    if not rules.may_lend(actor, resource):
        raise PermissionDenied
    resource = _locked(resource)
    organisation = resource.organisation
    if resource.kind != Resource.Kind.EQUIPMENT:
        raise ValidationError(_("Seul le matériel se prête."))
    if not rules.is_agent_of(borrower, organisation):
        raise ValidationError({"borrower": _("Le matériel se prête aux agents de la "
                                             "collectivité.")})
    if due_on < _today(organisation):
        raise ValidationError({"due_on": _("La date de retour est déjà passée.")})
    current = Loan.objects.filter(resource=resource, returned_at__isnull=True) \
        .select_related("borrower").first()
    if current is not None:
        raise ValidationError(_("%(item)s est déjà prêté à %(who)s jusqu'au %(date)s.") % {
            "item": resource.name, "who": _person(current.borrower),
            "date": current.due_on.strftime("%d/%m/%Y")})
    loan = Loan.objects.create(organisation=organisation, resource=resource, borrower=borrower,
                               checked_out_at=timezone.now(), checked_out_by=actor,
                               due_on=due_on, condition_out=condition_out.strip())
    _audit("booking.checked_out", actor, loan, request, borrower=str(borrower.pk),
           due_on=due_on.isoformat())
    notify(organisation=organisation, recipients=[borrower], kind=KIND_LOAN, actor=actor,
           about=loan, url=_page_url("booking:loans"),
           title=_("%(item)s vous est prêté jusqu'au %(date)s") % {
               "item": resource.name, "date": due_on.strftime("%d/%m/%Y")})
    return loan


@transaction.atomic
def check_in(*, actor, loan: Loan, condition_in: str = "",
             request: HttpRequest | None = None) -> Loan:
    """The item is back: note its condition."""
    if not rules.may_lend(actor, loan.resource):
        raise PermissionDenied
    loan = Loan.objects.select_for_update().select_related("resource", "organisation") \
        .get(pk=loan.pk)
    if loan.returned_at is not None:
        raise ValidationError(_("Ce prêt est déjà rendu."))
    loan.returned_at, loan.checked_in_by = timezone.now(), actor
    loan.condition_in = condition_in.strip()
    loan.save(update_fields=["returned_at", "checked_in_by", "condition_in", "updated_at"])
    _audit("booking.checked_in", actor, loan, request, late=loan.due_on < _today(
        loan.organisation))
    return loan


def remind_overdue_loans(*, now: datetime.datetime | None = None) -> int:
    """Remind the borrower (and who lent it) of each item not back by its date, once a day
    (local to the organisation). Returns the number of loans reminded."""
    now = now or timezone.now()
    candidates = (Loan.objects.filter(returned_at__isnull=True,
                                      due_on__lt=(now + datetime.timedelta(days=1)).date())
                  .select_related("organisation", "resource", "borrower", "checked_out_by"))
    sent = 0
    for loan in candidates:
        today = _today(loan.organisation, now)
        if loan.due_on >= today:
            continue
        if loan.reminded_at and _today(loan.organisation, loan.reminded_at) >= today:
            continue
        with transaction.atomic():
            claimed = Loan.objects.filter(pk=loan.pk, returned_at__isnull=True).filter(
                Q(reminded_at__isnull=True) if loan.reminded_at is None
                else Q(reminded_at=loan.reminded_at)).update(reminded_at=now)
            if not claimed:
                continue
            recipients = ([loan.borrower] if loan.borrower else []) + (
                [loan.checked_out_by] if loan.checked_out_by
                and loan.checked_out_by.is_active else [])
            notify(organisation=loan.organisation, recipients=recipients, kind=KIND_LOAN,
                   about=loan, url=_page_url("booking:loans"),
                   title=_("%(item)s prêté à %(who)s devait être rendu le %(date)s") % {
                       "item": loan.resource.name,
                       "who": _person(loan.borrower),
                       "date": loan.due_on.strftime("%d/%m/%Y")})
            sent += 1
    return sent
