"""The demo's rooms, vehicles and equipment (issue 6): the council room and a meeting room,
an electric Kangoo that needs an approval, telework laptops and a projector, their booking
rights, a few reservations (one weekly series, one request awaiting approval) and loans (one
overdue). Through the services, with the demo's agents as actors, so that rights, approvals
and the audit are the real ones. Idempotent: resources are found again by their names,
reservations and loans are only added to an organisation that has none.

Dates are relative to today, in the organisation's time zone, like the rest of the demo."""

from __future__ import annotations

import datetime
import zoneinfo
from collections import Counter as Tally
from collections.abc import Callable
from typing import Any, NotRequired, TypedDict

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from mairie.core.organisation.models import Role, Service

from . import services
from .models import Loan, Reservation, Resource

ADMIN_EMAIL = "dsi@valmont.example"


class ResourceSpec(TypedDict):
    """A resource: its kind, name and owning service (slug), its booking rights ((service
    slug, role or "")), and the other fields of `Resource`."""

    kind: str
    name: str
    owner: str
    rights: NotRequired[list[tuple[str, str]]]
    capacity: NotRequired[int]
    accessible: NotRequired[bool]
    requires_approval: NotRequired[bool]
    location: NotRequired[str]
    equipment: NotRequired[list[str]]
    accessibility_notes: NotRequired[str]
    max_duration: NotRequired[datetime.timedelta]
    inventory_number: NotRequired[str]


RESOURCES: list[ResourceSpec] = [
    {"kind": Resource.Kind.ROOM, "name": "Salle du conseil", "owner": "direction-generale",
     "capacity": 30, "accessible": True, "location": "Hôtel de ville, rez-de-chaussée",
     "equipment": ["Vidéoprojecteur", "Sonorisation", "Visioconférence"],
     "accessibility_notes": "Entrée de plain-pied par la cour ; boucle magnétique."},
    {"kind": Resource.Kind.ROOM, "name": "Salle de réunion 2e étage",
     "owner": "direction-generale", "capacity": 8, "accessible": False,
     "location": "Hôtel de ville, 2e étage", "equipment": ["Écran", "Tableau blanc"],
     "accessibility_notes": "Pas d'ascenseur : préférez la salle du conseil."},
    {"kind": Resource.Kind.VEHICLE, "name": "Kangoo électrique",
     "owner": "services-techniques", "capacity": 5, "requires_approval": True,
     "location": "Garage des services techniques",
     "max_duration": datetime.timedelta(hours=10),
     "rights": [("services-techniques", ""), ("action-sociale", ""),
                ("accueil-etat-civil", Role.MANAGER)]},
    {"kind": Resource.Kind.EQUIPMENT, "name": "Portable télétravail PT-01",
     "owner": "numerique", "inventory_number": "INV-2024-101",
     "rights": [("numerique", "")]},
    {"kind": Resource.Kind.EQUIPMENT, "name": "Portable télétravail PT-02",
     "owner": "numerique", "inventory_number": "INV-2024-102",
     "rights": [("numerique", "")]},
    {"kind": Resource.Kind.EQUIPMENT, "name": "Vidéoprojecteur mobile VP-1",
     "owner": "numerique", "inventory_number": "INV-2023-017"},
]


def _member(org, service: str, role: str):
    return (get_user_model().objects.filter(
        organisation=org, memberships__service__slug=service, memberships__role=role)
        .order_by("email").first())


def _resources(org, admin, tally: Tally) -> dict[str, Resource]:
    services_by_slug = {s.slug: s for s in Service.objects.filter(organisation=org)}
    found = {}
    for spec in RESOURCES:
        existing = Resource.objects.filter(organisation=org, kind=spec["kind"],
                                           name=spec["name"]).first()
        if existing is None:
            fields: dict[str, Any] = {k: v for k, v in spec.items()
                      if k not in ("kind", "name", "owner", "rights")}
            rights = [(services_by_slug[slug], role) for slug, role in spec.get("rights", [])]
            existing = services.create_resource(
                actor=admin, service=services_by_slug[spec["owner"]], kind=spec["kind"],
                name=spec["name"], rights=rights, **fields)
            tally["resources"] += 1
        found[spec["name"]] = existing
    return found


def _at(today: datetime.date, days: int, hour: int, minute: int, zone) -> datetime.datetime:
    return datetime.datetime.combine(today + datetime.timedelta(days=days),
                                     datetime.time(hour, minute), tzinfo=zone)


def _ahead(today: datetime.date, weekday: int) -> int:
    """Days to the next `weekday` (0 Monday), at least one day ahead."""
    return (weekday - today.weekday()) % 7 or 7


def _reservations(org, found, zone, today, tally: Tally) -> None:
    dgs = get_user_model().objects.filter(organisation=org, email="dgs@valmont.example").first()
    chef = get_user_model().objects.filter(organisation=org,
                                           email="chef.accueil@valmont.example").first()
    social = _member(org, "action-sociale", Role.AGENT)
    technician = _member(org, "services-techniques", Role.MANAGER)  # approves: confirmed
    council, meeting = found["Salle du conseil"], found["Salle de réunion 2e étage"]
    van = found["Kangoo électrique"]
    plans: list[Callable[[], Reservation | services.SeriesResult]] = []
    if dgs:
        thursday = _ahead(today, 3)
        plans.append(lambda: services.reserve(
            actor=dgs, resource=council, title="Conseil municipal",
            start=_at(today, thursday, 18, 30, zone), end=_at(today, thursday, 21, 30, zone)))
    if chef:
        monday = _ahead(today, 0)
        plans.append(lambda: services.reserve_series(
            actor=chef, resource=meeting, title="Réunion d'équipe de l'accueil",
            start=_at(today, monday, 9, 30, zone), end=_at(today, monday, 10, 30, zone),
            rrule="FREQ=WEEKLY;COUNT=8"))
    if social:  # awaiting the technical services' manager
        wednesday = _ahead(today, 2)
        plans.append(lambda: services.reserve(
            actor=social, resource=van, title="Visites à domicile",
            start=_at(today, wednesday, 9, 0, zone), end=_at(today, wednesday, 12, 0, zone)))
    if technician:
        plans.append(lambda: services.reserve(
            actor=technician, resource=van, title="Tournée des bâtiments",
            start=_at(today, 1, 13, 30, zone), end=_at(today, 1, 16, 0, zone)))
    for plan in plans:
        try:
            result = plan()
        except ValidationError:  # a rule of the resource changed by a tester: skip it
            continue
        tally["reservations"] += len(getattr(result, "reservations", [result]))


def _loans(org, found, admin, today, tally: Tally) -> None:
    hr_agent = _member(org, "ressources-humaines", Role.AGENT)
    planner = _member(org, "urbanisme", Role.AGENT)
    if hr_agent:
        services.check_out(actor=admin, resource=found["Portable télétravail PT-01"],
                           borrower=hr_agent, due_on=today + datetime.timedelta(days=20),
                           condition_out="Bon état, chargeur et sacoche.")
        tally["loans"] += 1
    if planner:
        loan = services.check_out(actor=admin, resource=found["Portable télétravail PT-02"],
                                  borrower=planner, due_on=today,
                                  condition_out="Rayure sur le capot.")
        # Overdue: lent three weeks ago, due five days ago.
        Loan.objects.filter(pk=loan.pk).update(
            checked_out_at=timezone.now() - datetime.timedelta(days=21),
            due_on=today - datetime.timedelta(days=5))
        tally["loans"] += 1


def load_booking_demo(org) -> Tally:
    """Returns what was created, by kind."""
    tally: Tally = Tally()
    admin = get_user_model().objects.filter(organisation=org, email=ADMIN_EMAIL).first()
    if admin is None:
        return tally
    zone = zoneinfo.ZoneInfo(org.time_zone)
    today = timezone.localdate(timezone=zone)
    found = _resources(org, admin, tally)
    if not Reservation.objects.filter(organisation=org).exists():
        _reservations(org, found, zone, today, tally)
    if not Loan.objects.filter(organisation=org).exists():
        _loans(org, found, admin, today, tally)
    return tally
