"""The kernel's own documents, so that the search box finds something on day one: the
organisation's services and its agents, findable by every agent of the organisation.

Kept in sync by the receivers in `signals.py` (saves and deletions of services, memberships
and users) and rebuilt by `python -m mairie search reindex`.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from mairie.core.organisation.models import Membership, Service

from .access import agents_key
from .models import SearchDocument
from .registry import IndexEntry, register_object_type
from .services import index_entry, remove_document

SERVICE_TYPE = "organisation.service"
AGENT_TYPE = "organisation.agent"


def service_entry(service: Service) -> IndexEntry:
    lines = [service.description, service.email]
    if service.parent is not None:
        lines.append(service.parent.name)
    return IndexEntry(
        obj_id=str(service.pk),
        title=service.name,
        body="\n".join(line for line in lines if line),
        url=reverse("organisation:service-detail", args=[service.pk]),
        access_keys=[agents_key(service.organisation_id)],
    )


def agent_entry(user, memberships: list[Membership]) -> IndexEntry:
    # Role names are indexed in French, the language of the source strings.
    with override("fr"):
        lines = [f"{m.get_role_display()} — {m.service.name}" for m in memberships]
    lines.append(user.email)  # not the phone: it may be a personal number
    return IndexEntry(
        obj_id=str(user.pk),
        title=user.get_full_name() or user.email,
        body="\n".join(line for line in lines if line),
        url=reverse("organisation:service-detail", args=[memberships[0].service_id]),
        access_keys=[agents_key(memberships[0].organisation_id)],
    )


def service_entries(organisation) -> Iterator[IndexEntry]:
    for service in Service.objects.filter(organisation=organisation).select_related("parent"):
        yield service_entry(service)


def _memberships(**filters):
    return (Membership.objects.filter(**filters).select_related("user", "service")
            .order_by("user_id", "service__name", "role"))


def agent_entries(organisation) -> Iterator[IndexEntry]:
    for _user_id, group in groupby(_memberships(organisation=organisation),
                                   key=lambda m: m.user_id):
        memberships = list(group)
        yield agent_entry(memberships[0].user, memberships)


def index_service(service: Service) -> None:
    index_entry(organisation=service.organisation_id, obj_type=SERVICE_TYPE,
                entry=service_entry(service))


def remove_service(service: Service) -> None:
    remove_document(organisation=service.organisation_id, obj_type=SERVICE_TYPE,
                    obj_id=service.pk)


def index_agent(user_id, organisation_id) -> None:
    """(Re)index a person as an agent of an organisation, or forget them if they hold no
    role there any more."""
    memberships = list(_memberships(user_id=user_id, organisation_id=organisation_id))
    if not memberships:
        remove_document(organisation=organisation_id, obj_type=AGENT_TYPE, obj_id=user_id)
        return
    index_entry(organisation=organisation_id, obj_type=AGENT_TYPE,
                entry=agent_entry(memberships[0].user, memberships))


def remove_agent_everywhere(user_id) -> None:
    SearchDocument.objects.filter(object_type=AGENT_TYPE, object_id=str(user_id)).delete()


def register_kernel_types() -> None:
    register_object_type(SERVICE_TYPE, label=_("Service"), documents=service_entries)
    register_object_type(AGENT_TYPE, label=_("Agent"), documents=agent_entries)
