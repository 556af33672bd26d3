"""Fetching a stored file for a user, scoped to the request's organisation."""

from __future__ import annotations

import uuid

from .models import StoredFile
from .rules import can_read_file


def file_for(user, organisation, pk: uuid.UUID | str) -> StoredFile | None:
    """The file `pk` of `organisation` if `user` may read it, else None (one query, plus the
    purpose's predicate). A file of another organisation is never found, even by its id."""
    stored = StoredFile.objects.filter(organisation=organisation, pk=pk).first()
    if stored is None:
        return None
    stored.organisation = organisation  # spares the predicates a query
    return stored if can_read_file(user, stored) else None
