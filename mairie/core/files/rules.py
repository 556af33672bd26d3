"""Who may read a stored file.

Public files (the organisation's logo) are readable by anyone on the organisation's host; the
query function checks that before calling these predicates. For private files, each purpose
may bring its own `can_read(user, stored_file)` (a dossier's attachment is readable by the
agents instructing the dossier); without one, the uploader and the organisation's
administrators may read it.
"""

import rules

from mairie.core.organisation.queries import is_org_administrator

from .purposes import get_purpose


@rules.predicate
def is_uploader(user, stored_file) -> bool:
    return (stored_file is not None and user.is_authenticated
            and stored_file.uploaded_by_id == user.pk)


@rules.predicate
def is_administrator_of_file_org(user, stored_file) -> bool:
    return stored_file is not None and is_org_administrator(user, stored_file.organisation)


default_can_read = is_uploader | is_administrator_of_file_org


@rules.predicate
def can_read_file(user, stored_file) -> bool:
    if stored_file is None:
        return False
    if stored_file.is_public:
        return True
    if not user.is_authenticated or user.organisation_id != stored_file.organisation_id:
        return False
    predicate = get_purpose(stored_file.purpose).can_read or default_can_read
    return bool(predicate(user, stored_file))


rules.add_perm("files.view_storedfile", can_read_file)


def abilities(user, stored_file) -> dict[str, bool]:
    return {"download": can_read_file(user, stored_file)}
