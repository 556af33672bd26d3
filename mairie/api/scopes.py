"""The registry of API scopes (portées) a personal token can carry.

A scope narrows what a token may do; it never widens what its user may do: every endpoint still
goes through the owning app's queries and rules. The kernel registers two generic scopes, `read`
and `write`. A module registers its own (`dossiers:read`, `dossiers:write`…) from its
`AppConfig.ready()` with `register_scope()`, so that a token can be limited to one module.

Implications, kept in one place (`grants`):
- `write` implies `read`, and `<module>:write` implies `<module>:read` — a client that may change
  something may also read it back;
- the generic `read`/`write` cover every module's `<module>:read`/`<module>:write`;
- any other scope (`webhooks:manage`…) is granted only by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

READ = "read"
WRITE = "write"

_CODE = re.compile(r"^[a-z][a-z0-9_]*(:[a-z][a-z0-9_]*)?$")


@dataclass(frozen=True)
class Scope:
    code: str
    label: str | Promise
    description: str | Promise = ""


_registry: dict[str, Scope] = {}


def register_scope(code: str, label: str | Promise, description: str | Promise = "") -> Scope:
    """Declare a scope users may grant to their tokens. Idempotent for the same code."""
    if not _CODE.match(code):
        raise ValueError(f"Invalid scope code {code!r}: use 'name' or 'module:name'.")
    scope = Scope(code=code, label=label, description=description)
    _registry[code] = scope
    return scope


def all_scopes() -> list[Scope]:
    """Registered scopes, generic ones first, then by code."""
    return sorted(_registry.values(), key=lambda s: (":" in s.code, s.code))


def is_known(code: str) -> bool:
    return code in _registry


def scope_label(code: str) -> str:
    scope = _registry.get(code)
    return str(scope.label) if scope else code


def grants(granted: Iterable[str], required: str) -> bool:
    """True when a token holding `granted` scopes may use an endpoint that needs `required`."""
    held = set(granted)
    if required in held:
        return True
    module, _sep, verb = required.rpartition(":")
    satisfying: set[str] = set()
    if verb == READ:
        satisfying = {READ, WRITE}
    elif verb == WRITE:
        satisfying = {WRITE}
    if module and verb == READ:
        satisfying.add(f"{module}:{WRITE}")
    return bool(held & satisfying)


register_scope(
    READ, _("Lecture"),
    _("Lire tout ce que votre compte peut consulter (profil, services, dossiers…)."))
register_scope(
    WRITE, _("Écriture"),
    _("Créer, modifier et supprimer tout ce que votre compte peut modifier. Inclut la lecture."))

# Procedures engine (mairie/procedures/api.py).
register_scope(
    "procedures:read", _("Démarches : lecture"),
    _("Lire les démarches publiées et leur formulaire."))
register_scope(
    "dossiers:read", _("Dossiers : lecture"),
    _("Lister et lire les dossiers que votre compte peut consulter."))
register_scope(
    "dossiers:write", _("Dossiers : écriture"),
    _("Déposer un dossier pour un demandeur, franchir une étape, écrire au demandeur, "
      "annoter. Inclut la lecture des dossiers."))
