"""Permission classes shared by every API endpoint.

`TokenScopePermission` is in the default permission classes: an endpoint declares the scope each
action needs, and a token request passes only if its token carries that scope. A browser request
(session) acts with every scope of its user — the scopes only ever narrow a token, and the
user's own permissions are checked by each app's queries and rules either way.

How an endpoint declares its scope, first match wins:
- `required_scopes = {"list": "dossiers:read", "submit": "dossiers:write"}` by viewset action
  (or lower-case HTTP method for a plain APIView);
- `scope_family = "dossiers"`: `dossiers:read` for safe methods, `dossiers:write` otherwise;
- neither: `read` for safe methods, `write` otherwise.
"""

from django.utils.translation import gettext as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from mairie.core.organisation.queries import roles_of

from .models import PersonalToken
from .rules import agent_lacks_second_factor
from .scopes import READ, WRITE


def required_scope(view, method: str) -> str:
    """The scope `view` needs to answer `method` (also used to document the schema)."""
    action = getattr(view, "action", None) or method.lower()
    explicit = getattr(view, "required_scopes", None) or {}
    if action in explicit:
        return explicit[action]
    verb = READ if method.upper() in SAFE_METHODS else WRITE
    family = getattr(view, "scope_family", None)
    return f"{family}:{verb}" if family else verb


def token_of(request) -> PersonalToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, PersonalToken) else None


def request_grants(request, scope: str) -> bool:
    """Whether this request's credentials carry `scope` (a session carries them all)."""
    token = token_of(request)
    return token is None or token.grants(scope)


class TokenScopePermission(BasePermission):
    def has_permission(self, request, view) -> bool:
        token = token_of(request)
        if token is None:
            return True
        scope = required_scope(view, request.method)
        if token.grants(scope):
            return True
        # DRF instantiates permissions per request, so a per-instance message is safe.
        self.message = _("Ce jeton n'a pas la portée « %(scope)s » nécessaire.") % {
            "scope": scope}
        self.code = "scope_missing"
        return False


class IsAgentOfOrganisation(BasePermission):
    """For agents of the request's organisation (holders of at least one role)."""

    def has_permission(self, request, view) -> bool:
        organisation = getattr(request, "organisation", None)
        if organisation is None or not roles_of(request.user, organisation):
            self.message = _("Réservé aux agents de la collectivité.")
            return False
        if token_of(request) is None and agent_lacks_second_factor(request.user, organisation):
            # Tokens are only issued to agents with TOTP (see views.tokens).
            self.message = _("Activez la double authentification de votre compte pour "
                             "utiliser l'API en tant qu'agent.")
            self.code = "second_factor_required"
            return False
        return True
