"""Searching, for a user, within one organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.safestring import SafeString

from mairie.core.organisation.models import Membership

from .access import agents_key, public_key, role_key, service_key, user_key, users_key
from .backends import current_backend
from .registry import object_type_label
from .text import highlight, query_terms, snippet

MAX_LIMIT = 100


@dataclass(frozen=True)
class SearchHit:
    object_type: str
    object_id: str
    type_label: str
    title: str
    url: str
    updated_at: datetime
    title_html: SafeString
    snippet_html: SafeString


def access_keys_for(user, organisation) -> list[str]:
    """The keys `user` holds in `organisation` (one query for agents, none otherwise).

    Anyone: the organisation's public key. A signed-in account of the organisation: its
    users key and its own key. An agent: the agents key, a key per service and per role.
    Accounts of another organisation hold only the public key, like anonymous visitors.
    """
    keys = [public_key(organisation)]
    if (not user.is_authenticated or user.organisation_id is None
            or user.organisation_id != organisation.pk):
        return keys
    keys += [users_key(organisation), user_key(user)]
    memberships = list(Membership.objects.filter(user=user, organisation=organisation)
                       .values_list("service_id", "role"))
    if memberships:
        keys.append(agents_key(organisation))
        for service_id, role in memberships:
            keys += [service_key(service_id), role_key(organisation, role)]
    return sorted(set(keys))


def search(user, organisation, text: str, *, limit: int = 20, offset: int = 0,
           ) -> list[SearchHit]:
    """The documents of `organisation` matching `text` that `user` may see, best first.

    Matching, ranking, organisation scoping and permission filtering happen in one SQL
    statement; highlighting is done on the (at most `limit`) rows returned.
    """
    terms = query_terms(text or "")
    if not terms:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    rows = current_backend().search(
        organisation_id=organisation.pk, keys=access_keys_for(user, organisation),
        terms=terms, limit=limit, offset=max(0, offset))
    return [
        SearchHit(
            object_type=row.object_type,
            object_id=row.object_id,
            type_label=object_type_label(row.object_type),
            title=row.title,
            url=row.url,
            updated_at=row.updated_at,
            title_html=highlight(row.title, terms),
            snippet_html=snippet(row.body, terms),
        )
        for row in rows
    ]
