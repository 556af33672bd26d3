"""Personal access tokens: `Authorization: Token <key>`; see mairie.api.models.PersonalToken."""

from rest_framework.authentication import TokenAuthentication


class PersonalTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        from rest_framework import exceptions

        from .services import user_for_token

        result = user_for_token(key)
        if result is None:
            raise exceptions.AuthenticationFailed("Jeton invalide, expiré ou révoqué.")
        return result
