"""Reads of the organisation chart, always scoped to one organisation."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from .models import Membership, Role, Service


def services_of(organisation) -> QuerySet[Service]:
    return Service.objects.filter(organisation=organisation).select_related("parent")


def memberships_of_user(user) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return (Membership.objects.filter(user=user, organisation_id=user.organisation_id)
            .select_related("service", "service__parent"))


def roles_of(user, organisation) -> set[str]:
    if not user.is_authenticated or user.organisation_id != organisation.pk:
        return set()
    cache_attr = "_mairie_roles"
    if not hasattr(user, cache_attr):
        setattr(user, cache_attr, set(
            Membership.objects.filter(user=user, organisation=organisation)
            .values_list("role", flat=True)))
    return getattr(user, cache_attr)


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
