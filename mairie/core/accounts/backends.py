"""Authentication limited to the accounts of the request's organisation."""

from allauth.account.auth_backends import AuthenticationBackend


class OrganisationAuthenticationBackend(AuthenticationBackend):
    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        org = getattr(request, "organisation", None)
        if user is None or org is None or user.is_superuser:
            return user
        return user if user.organisation_id == org.pk else None
