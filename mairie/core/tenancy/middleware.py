"""Attach the request's organisation (from the host name) and keep users inside it."""

from django.contrib.auth import logout
from django.http import HttpResponse
from django.utils.translation import gettext as _

from .queries import organisation_for_host


class OrganisationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organisation = organisation_for_host(request.get_host())
        if request.organisation is None and not request.path.startswith(("/static/", "/admin/")):
            return HttpResponse(
                _("Aucune collectivité n'est configurée. Lancez « python -m mairie demo » ou "
                  "créez-en une dans l'administration."),
                status=503, content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class OrganisationUserMiddleware:
    """A session opened on one collectivité's host is worthless on another's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        org = getattr(request, "organisation", None)
        if (user is not None and user.is_authenticated and org is not None
                and not user.is_superuser and user.organisation_id != org.pk):
            logout(request)
        return self.get_response(request)
