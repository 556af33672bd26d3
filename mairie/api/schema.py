"""OpenAPI documentation hooks: the token security scheme, and each operation's scope."""

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from .permissions import TokenScopePermission, required_scope


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mairie.api.authentication.PersonalTokenAuthentication"
    name = "jetonPersonnel"
    priority = 1  # above drf-spectacular's generic TokenAuthentication scheme

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _(
                "Jeton d'accès personnel, créé dans « Mon compte › Jetons d'accès à l'API ». "
                "Envoyez l'en-tête `Authorization: Token <jeton>`. Un jeton n'est valable que "
                "sur l'adresse de sa collectivité, jusqu'à sa date d'expiration, et seulement "
                "pour ses portées (voir `x-required-scope` sur chaque opération)."),
        }


class AutoSchema(SpectacularAutoSchema):
    """Adds the scope a token needs to each operation (`x-required-scope` and description)."""

    def _scope(self) -> str | None:
        permissions = getattr(self.view, "permission_classes", [])
        if not any(issubclass(p, TokenScopePermission) for p in permissions
                   if isinstance(p, type)):
            return None
        return required_scope(self.view, self.method)

    # get_operation rather than get_description: @extend_schema replaces the latter.
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        scope = self._scope()
        if operation is None or scope is None:
            return operation
        note = _("Portée requise pour un jeton : `%(scope)s`.") % {"scope": scope}
        description = operation.get("description", "")
        operation["description"] = f"{description}\n\n{note}" if description else note
        operation["x-required-scope"] = scope
        return operation
