"""Personal access tokens: `Authorization: Token <key>`; see mairie.api.models.PersonalToken.

A token authenticates only on the host names of its own organisation, like a session, which
`OrganisationUserMiddleware` already confines; that middleware runs before DRF authenticates a
token, hence the check here.
"""

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .services import TokenRefused, user_for_token


class PersonalTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        # DRF creates one authenticator per request, so keeping the organisation here is safe.
        self._organisation = getattr(request, "organisation", None)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        organisation = getattr(self, "_organisation", None)
        if organisation is None:
            # No organisation means no host to bind the token to: refuse rather than guess.
            raise exceptions.AuthenticationFailed(
                _("Aucune collectivité ne correspond à cette adresse."), code="no_organisation")
        try:
            return user_for_token(key, organisation=organisation)
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message, code=refused.code) from None
