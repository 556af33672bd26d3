"""Reads of the organisation chart, always scoped to one organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from .models import Membership, Role, Service


def services_of(organisation) -> QuerySet[Service]:
    return Service.objects.filter(organisation=organisation).select_related("parent")


def memberships_of_user(user) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return (Membership.objects.filter(user=user, organisation_id=user.organisation_id)
            .select_related("service", "service__parent"))


# Bumped by every save or deletion of a membership in this process (`apps.py`): what
# `membership_pairs` remembered on a user instance is read again after any change, even one
# made through another instance of the same user.
_generation = [0]


def memberships_changed(**_kwargs) -> None:
    _generation[0] += 1


def membership_pairs(user) -> frozenset[tuple]:
    """(service id, role) of every role `user` holds in their own organisation.

    Read once per user instance (a request has one) and shared by `roles_of`, `is_agent` and
    the procedures' workflow roles, so that a page checks permissions from one query."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_mairie_memberships", None)
    if cached is None or cached[0] != _generation[0]:
        cached = (_generation[0], frozenset(
            Membership.objects.filter(user=user, organisation_id=user.organisation_id)
            .order_by().values_list("service_id", "role")))
        user._mairie_memberships = cached
    return cached[1]


def roles_of(user, organisation) -> set[str]:
    if (organisation is None or not user.is_authenticated
            or user.organisation_id != organisation.pk):
        return set()
    return {role for _service, role in membership_pairs(user)}


def forget_roles(user) -> None:
    """Drop the per-instance cache of `membership_pairs` (after a membership of `user`
    changed)."""
    if hasattr(user, "_mairie_memberships"):
        delattr(user, "_mairie_memberships")


def is_org_administrator(user, organisation) -> bool:
    return Role.ADMINISTRATOR in roles_of(user, organisation)


def members_visible_to(user, organisation) -> QuerySet:
    """Users of the organisation who hold a role, for agents of that organisation only."""
    User = get_user_model()
    if not roles_of(user, organisation):
        return User.objects.none()
    return (User.objects.filter(organisation=organisation, memberships__isnull=False)
            .distinct()
            .prefetch_related(Prefetch("memberships",
                                       queryset=Membership.objects.select_related("service"))))


def services_visible_to(user, organisation) -> QuerySet[Service]:
    if not roles_of(user, organisation):
        return Service.objects.none()
    return services_of(organisation)


# --- The chart ------------------------------------------------------------------------------


@dataclass
class ChartNode:
    """One service of the tree with its members (grouped per person) and its sub-services."""

    service: Service
    depth: int = 0
    members: list[ChartMember] = field(default_factory=list)
    children: list[ChartNode] = field(default_factory=list)

    @property
    def heading_level(self) -> int:
        """h2 for directions, h3 for their services… (the page title is the h1)."""
        return min(self.depth + 2, 6)


@dataclass
class ChartMember:
    user: Any
    memberships: list[Membership] = field(default_factory=list)

    @property
    def roles_display(self) -> list[str]:
        """Role labels in the order of `Role` (agent first, administrator last)."""
        order = list(Role.values)
        return [m.get_role_display()
                for m in sorted(self.memberships, key=lambda m: order.index(m.role))]


def chart_for(user, organisation) -> list[ChartNode]:
    """The service tree of `organisation` with who holds which role, for its agents.

    Two queries whatever the size of the chart (services, then memberships with their users);
    the tree is assembled in Python. Empty for anyone who is not an agent of `organisation`.
    """
    if not roles_of(user, organisation):
        return []
    services = list(Service.objects.filter(organisation=organisation).order_by("name"))
    memberships = (Membership.objects.filter(organisation=organisation)
                   .select_related("user")
                   .order_by("user__last_name", "user__first_name", "user__email", "role"))
    nodes = {s.pk: ChartNode(service=s) for s in services}
    for membership in memberships:
        node = nodes.get(membership.service_id)
        if node is None:
            continue
        if node.members and node.members[-1].user.pk == membership.user_id:
            node.members[-1].memberships.append(membership)
        else:
            node.members.append(ChartMember(user=membership.user, memberships=[membership]))
    roots: list[ChartNode] = []
    for service in services:
        node = nodes[service.pk]
        parent = nodes.get(service.parent_id) if service.parent_id else None
        (parent.children if parent is not None else roots).append(node)

    def set_depth(items: list[ChartNode], depth: int) -> None:
        for item in items:
            item.depth = depth
            set_depth(item.children, depth + 1)

    set_depth(roots, 0)
    return roots


def service_of_organisation(organisation, pk) -> Service:
    """One service of `organisation` by id; 404 for an id of another organisation."""
    return get_object_or_404(
        Service.objects.filter(organisation=organisation).select_related("parent"), pk=pk)


def service_with_counts(organisation, pk) -> Service:
    return get_object_or_404(
        Service.objects.filter(organisation=organisation).select_related("parent")
        .annotate(member_count=Count("memberships", distinct=True),
                  child_count=Count("children", distinct=True)),
        pk=pk)


def memberships_of_service(service: Service) -> QuerySet[Membership]:
    return (Membership.objects.filter(service=service, organisation_id=service.organisation_id)
            .select_related("user")
            .order_by("user__last_name", "user__first_name", "user__email", "role"))


def membership_of_organisation(organisation, pk) -> Membership:
    """One membership of `organisation` by id; 404 for an id of another organisation."""
    return get_object_or_404(
        Membership.objects.filter(organisation=organisation).select_related("user", "service"),
        pk=pk)


def descendants_of(service: Service) -> set:
    """Ids of every service below `service` (to refuse cycles when choosing a parent)."""
    children: dict = {}
    for pk, parent_id in (Service.objects.filter(organisation_id=service.organisation_id)
                          .values_list("pk", "parent_id")):
        children.setdefault(parent_id, []).append(pk)
    found: set = set()
    stack = list(children.get(service.pk, []))
    while stack:
        pk = stack.pop()
        if pk not in found:
            found.add(pk)
            stack.extend(children.get(pk, []))
    return found
