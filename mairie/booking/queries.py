"""Reads of the booking app for one user, permission-filtered in SQL (rules in `rules.py`)."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from mairie.core.organisation.models import Role, Service

from . import rules
from .models import BookingRight, FeedToken, Loan, Reservation, Resource


def overlapping(start: datetime.datetime, end: datetime.datetime) -> Q:
    """Reservations whose half-open range [start, end) meets [start, end) (the same
    semantics as PostgreSQL's `tstzrange(start, end, '[)') && …`): back to back is free."""
    return Q(start__lt=end, end__gt=start, state__in=Reservation.ACTIVE_STATES)


def _bookable(user, organisation) -> Q:
    """Resources whose rights let `user` book (no right line: every agent)."""
    pairs = rules.pairs_of(user, organisation)
    if not pairs:
        return Q(pk__in=[])
    matching = Q()
    for service_id, role in pairs:
        matching |= (Q(service_id=service_id) | Q(service__isnull=True)) & \
            (Q(role=role) | Q(role=""))
    rights = BookingRight.objects.filter(resource=OuterRef("pk"))
    return Q(is_active=True) & (~Exists(rights) | Exists(rights.filter(matching)))


def _approves(user, organisation, prefix: str = "") -> Q:
    pairs = rules.pairs_of(user, organisation)
    if Role.ADMINISTRATOR in {role for _service, role in pairs}:
        return Q()
    found = Q(pk__in=[])
    for service_id, role in pairs:
        found |= Q(**{f"{prefix}approver_service_id": service_id,
                      f"{prefix}approver_role": role}) | \
            Q(**{f"{prefix}approver_service__isnull": True, f"{prefix}service_id": service_id,
                 f"{prefix}approver_role": role})
    return found


def _services(user, organisation) -> set:
    return {service_id for service_id, _role in rules.pairs_of(user, organisation)}


def resources_visible_to(user, organisation) -> QuerySet[Resource]:
    """What `user` may book, what their services own or approve; all for directors and
    administrators. Nothing for anyone outside `organisation`."""
    if not rules.is_agent_of(user, organisation):
        return Resource.objects.none()
    resources = Resource.objects.filter(organisation=organisation).select_related("service")
    if rules.sees_every_resource(user, organisation):
        return resources
    mine = _services(user, organisation)
    return resources.filter(_bookable(user, organisation) | Q(service_id__in=mine)
                            | _approves(user, organisation))


def resource_visible_to(user, organisation, pk) -> Resource | None:
    return resources_visible_to(user, organisation).filter(pk=pk).first()


def bookable_resources(user, organisation) -> QuerySet[Resource]:
    if not rules.is_agent_of(user, organisation):
        return Resource.objects.none()
    return (Resource.objects.filter(organisation=organisation)
            .filter(_bookable(user, organisation)).select_related("service"))


def free_resources(user, organisation, *, start: datetime.datetime, end: datetime.datetime,
                   min_capacity: int | None = None,
                   kind: str | None = None) -> QuerySet[Resource]:
    """The resources `user` may book that nothing holds over [start, end) — "a room for 8
    people Thursday afternoon". An equipment item out on loan is not free."""
    if end <= start:
        return Resource.objects.none()
    resources = bookable_resources(user, organisation)
    if kind:
        resources = resources.filter(kind=kind)
    if min_capacity:
        resources = resources.filter(capacity__gte=min_capacity)
    taken = Reservation.objects.filter(overlapping(start, end), resource=OuterRef("pk"))
    out = Loan.objects.filter(resource=OuterRef("pk"), returned_at__isnull=True)
    return resources.filter(~Exists(taken), ~Exists(out)).order_by("capacity", "name")


def reservations_visible_to(user, organisation) -> QuerySet[Reservation]:
    """The user's own reservations, those of the resources their services own or approve;
    all for directors and administrators."""
    if not rules.is_agent_of(user, organisation):
        return Reservation.objects.none()
    reservations = (Reservation.objects.filter(organisation=organisation)
                    .select_related("resource", "booker", "series"))
    if rules.sees_every_resource(user, organisation):
        return reservations
    return reservations.filter(Q(booker=user)
                               | Q(resource__service_id__in=_services(user, organisation))
                               | _approves(user, organisation, prefix="resource__"))


def requests_to_decide(user, organisation) -> QuerySet[Reservation]:
    """Requests awaiting approval that `user` may approve or refuse, oldest first."""
    if not rules.is_agent_of(user, organisation):
        return Reservation.objects.none()
    pending = (Reservation.objects.filter(organisation=organisation,
                                          state=Reservation.State.REQUESTED)
               .select_related("resource", "booker"))
    return pending.filter(_approves(user, organisation, prefix="resource__")) \
        .order_by("created_at")


def loans_visible_to(user, organisation) -> QuerySet[Loan]:
    """The user's own loans and those of the equipment of their services; all for directors
    and administrators."""
    if not rules.is_agent_of(user, organisation):
        return Loan.objects.none()
    loans = (Loan.objects.filter(organisation=organisation)
             .select_related("resource", "borrower"))
    if rules.sees_every_resource(user, organisation):
        return loans
    return loans.filter(Q(borrower=user)
                        | Q(resource__service_id__in=_services(user, organisation)))


def loan_history(user, resource: Resource) -> QuerySet[Loan]:
    """Every loan of one item, newest first (for whoever sees the item's loans)."""
    return loans_visible_to(user, resource.organisation).filter(resource=resource)


def resource_agenda(user, resource: Resource, start: datetime.datetime,
                    end: datetime.datetime) -> QuerySet[Reservation]:
    """The active reservations of a resource over [start, end), for whoever sees the
    resource (its agenda: when it is taken and by whom; the view shows the title only to
    those who see the reservation, decision 0489)."""
    if resource_visible_to(user, resource.organisation, resource.pk) is None:
        return Reservation.objects.none()
    return (Reservation.objects.filter(overlapping(start, end), resource=resource)
            .select_related("booker", "series").order_by("start"))


def my_reservations(user, organisation) -> QuerySet[Reservation]:
    """The reservations `user` made in `organisation`, whatever their state."""
    return reservations_visible_to(user, organisation).filter(booker=user)


def reservation_visible_to(user, organisation, pk) -> Reservation | None:
    return reservations_visible_to(user, organisation).filter(pk=pk).first()


def request_to_decide(user, organisation, pk) -> Reservation | None:
    return requests_to_decide(user, organisation).select_related("series").filter(pk=pk) \
        .first()


def equipment_visible_to(user, organisation) -> QuerySet[Resource]:
    """The equipment items `user` sees, each with `open_loans` (its open loan when `user`
    sees it: borrower and date) and `is_out` (whether it is out, whoever has it)."""
    open_loans = loans_visible_to(user, organisation).filter(returned_at__isnull=True)
    return (resources_visible_to(user, organisation).filter(kind=Resource.Kind.EQUIPMENT)
            .select_related("organisation")
            .annotate(is_out=Exists(Loan.objects.filter(resource=OuterRef("pk"),
                                                        returned_at__isnull=True)))
            .prefetch_related(Prefetch("loans", queryset=open_loans, to_attr="open_loans"))
            .order_by("name"))


def overdue_loans(user, organisation, today: datetime.date) -> QuerySet[Loan]:
    """Open loans `user` sees whose return date has passed, the oldest date first."""
    return (loans_visible_to(user, organisation)
            .filter(returned_at__isnull=True, due_on__lt=today).order_by("due_on"))


def loan_visible_to(user, organisation, pk) -> Loan | None:
    return loans_visible_to(user, organisation).filter(pk=pk).first()


def borrowers_for(user, resource: Resource) -> QuerySet:
    """The agents of the organisation an item may be lent to, for those who lend it."""
    User = get_user_model()
    if not rules.may_lend(user, resource):
        return User.objects.none()
    return (User.objects.filter(organisation_id=resource.organisation_id, is_active=True,
                                memberships__organisation_id=resource.organisation_id)
            .distinct().order_by("last_name", "first_name", "email"))


def services_for_resources(user, organisation) -> QuerySet[Service]:
    """The services in which `user` may create or edit resources: all for administrators,
    the services they manage otherwise."""
    services = Service.objects.filter(organisation=organisation).order_by("name")
    pairs = rules.pairs_of(user, organisation)
    if any(role == Role.ADMINISTRATOR for _service, role in pairs):
        return services
    return services.filter(pk__in=[service_id for service_id, role in pairs
                                   if role == Role.MANAGER])


def organisation_services(user, organisation) -> QuerySet[Service]:
    if not rules.is_agent_of(user, organisation):
        return Service.objects.none()
    return Service.objects.filter(organisation=organisation).order_by("name")


def feed_resource(token: str) -> Resource | None:
    return (Resource.objects.filter(feed_token=token).select_related("organisation")
            .first() if token else None)


def feed_owner(token: str) -> FeedToken | None:
    return (FeedToken.objects.filter(token=token, user__is_active=True)
            .select_related("user", "organisation").first() if token else None)
