"""The registry of notification kinds.

Every module declares the kinds of notifications it sends, once, with a French label and a
default e-mail frequency, so that `notify()` refuses a typo and the preferences page can list
every kind a user may receive. Register from your app's `AppConfig.ready()`:

    from mairie.core.notifications.kinds import register_kind
    register_kind("procedures.dossier_submitted", _("Dossier déposé"), for_residents=False)

The kernel's own kinds are registered at the bottom of this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Frequency


@dataclass(frozen=True)
class NotificationKind:
    code: str
    label: str | Promise
    default_frequency: str = Frequency.IMMEDIATELY
    description: str | Promise = ""
    for_agents: bool = True
    for_residents: bool = True


_registry: dict[str, NotificationKind] = {}


class UnknownKind(LookupError):
    pass


def register_kind(
    code: str,
    label: str | Promise,
    *,
    default_frequency: str = Frequency.IMMEDIATELY,
    description: str | Promise = "",
    for_agents: bool = True,
    for_residents: bool = True,
) -> NotificationKind:
    """Declare a kind. Registering the same code twice with the same definition is harmless
    (apps may be reloaded); a conflicting definition is a programming error."""
    if default_frequency not in Frequency.values:
        raise ValueError(f"Unknown frequency {default_frequency!r} for kind {code!r}.")
    kind = NotificationKind(code, label, Frequency(default_frequency), description,
                            for_agents, for_residents)
    existing = _registry.get(code)
    if existing is not None and existing != kind:
        raise ValueError(f"Notification kind {code!r} is already registered differently.")
    _registry[code] = kind
    return kind


def unregister_kind(code: str) -> None:
    """Forget a kind (for tests that declare their own)."""
    _registry.pop(code, None)


def get_kind(code: str) -> NotificationKind:
    try:
        return _registry[code]
    except KeyError:
        raise UnknownKind(f"Unregistered notification kind {code!r}.") from None


def all_kinds() -> list[NotificationKind]:
    return sorted(_registry.values(), key=lambda k: k.code)


def kinds_for(*, is_agent: bool) -> list[NotificationKind]:
    """The kinds a user may receive: agents and residents do not get the same messages."""
    return [k for k in all_kinds() if (k.for_agents if is_agent else k.for_residents)]


def codes_with_default(
    frequency: str, kinds: Iterable[NotificationKind] | None = None
) -> list[str]:
    """Codes of the kinds whose default frequency is `frequency` (for SQL filters)."""
    return [k.code for k in (all_kinds() if kinds is None else kinds)
            if k.default_frequency == frequency]


# --- The kernel's kinds ------------------------------------------------------------------------
register_kind(
    "organisation.role_changed",
    _("Changement de vos rôles dans les services"),
    description=_("Quand un administrateur vous donne ou vous retire un rôle."),
    for_residents=False,
)
register_kind(
    "system.announcement",
    _("Annonces de la collectivité"),
    description=_("Informations importantes diffusées à tous : fermeture, incident, "
                  "continuité du service."),
)
