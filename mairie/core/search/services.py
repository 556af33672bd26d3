"""Writing to the search index. Modules call these from their own services or receivers.

The index is derived data (it can be rebuilt with `python -m mairie search reindex`), so its
writes are not audited; they run in the caller's transaction, so a rolled-back change leaves
no trace in the index either.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from .backends import current_backend
from .models import SearchDocument, SearchDocumentAccess
from .registry import IndexEntry, registered_object_types

TITLE_MAX = SearchDocument._meta.get_field("title").max_length
URL_MAX = SearchDocument._meta.get_field("url").max_length


def _pk(organisation):
    # Receivers often hold only `instance.organisation_id`; both forms are accepted.
    return getattr(organisation, "pk", organisation)


def index_document(*, organisation, obj_type: str, obj_id, title: str, body: str, url: str,
                   access_keys: Iterable[str]) -> SearchDocument:
    """Create or refresh the document of one object, with exactly `access_keys`.

    A document nobody may see would be a bug in the caller, hence the ValueError.
    """
    keys = sorted(set(access_keys))
    if not keys:
        raise ValueError(f"{obj_type} {obj_id}: a search document needs access keys.")
    with transaction.atomic():
        document, created = SearchDocument.objects.update_or_create(
            organisation_id=_pk(organisation), object_type=obj_type, object_id=str(obj_id),
            defaults={"title": (title or "").strip()[:TITLE_MAX] or str(obj_id),
                      "body": body or "", "url": url[:URL_MAX]},
        )
        existing = set() if created else set(document.access.values_list("key", flat=True))
        stale = existing.difference(keys)
        if stale:
            document.access.filter(key__in=stale).delete()
        SearchDocumentAccess.objects.bulk_create(
            [SearchDocumentAccess(document=document, key=key) for key in keys
             if key not in existing])
        current_backend().sync(document.pk, document.title, document.body)
    return document


def remove_document(*, organisation, obj_type: str, obj_id) -> bool:
    """Forget one object; True if it was indexed."""
    return _remove(SearchDocument.objects.filter(
        organisation_id=_pk(organisation), object_type=obj_type, object_id=str(obj_id))) > 0


def _remove(queryset) -> int:
    ids = list(queryset.values_list("id", flat=True))
    if not ids:
        return 0
    with transaction.atomic():
        SearchDocument.objects.filter(id__in=ids).delete()
        current_backend().forget(ids)
    return len(ids)


def index_entry(*, organisation, obj_type: str, entry: IndexEntry) -> SearchDocument:
    return index_document(organisation=organisation, obj_type=obj_type, obj_id=entry.obj_id,
                          title=entry.title, body=entry.body, url=entry.url,
                          access_keys=entry.access_keys)


def prune_index() -> int:
    """Remove full-text entries left without a document (all organisations)."""
    return current_backend().prune()


def reindex(*, organisation) -> dict[str, int]:
    """Rebuild `organisation`'s index: every registered type that knows its documents is
    re-read from its module (objects gone are dropped), and every other row has its
    full-text entry recomputed. Returns the number of documents per type."""
    counts: dict[str, int] = {}
    backend = current_backend()
    rebuilt_types = []
    for name, object_type in registered_object_types().items():
        if object_type.documents is None:
            continue
        rebuilt_types.append(name)
        with transaction.atomic():
            seen = set()
            for entry in object_type.documents(organisation):
                index_entry(organisation=organisation, obj_type=name, entry=entry)
                seen.add(str(entry.obj_id))
            existing = SearchDocument.objects.filter(organisation=organisation,
                                                     object_type=name)
            stale = [pk for pk, obj_id in existing.values_list("id", "object_id")
                     if obj_id not in seen]
            for start in range(0, len(stale), 500):
                _remove(SearchDocument.objects.filter(id__in=stale[start:start + 500]))
        counts[name] = len(seen)
    others = (SearchDocument.objects.filter(organisation=organisation)
              .exclude(object_type__in=rebuilt_types).order_by("id"))
    with transaction.atomic():
        for document in others.iterator(chunk_size=500):
            backend.sync(document.pk, document.title, document.body)
            counts[document.object_type] = counts.get(document.object_type, 0) + 1
    return counts
