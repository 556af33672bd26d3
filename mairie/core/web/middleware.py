"""Response headers Django and django-csp do not set by themselves.

`Permissions-Policy` keeps powerful browser features to our own pages: camera, microphone and
screen sharing for the built-in video meetings, geolocation for citizen reports; everything a
public service never needs (payment, USB, ad topics…) is switched off, embedded frames
included. The value is `MAIRIE_PERMISSIONS_POLICY` in the settings.

`IdentityProviderFormActionMiddleware` widens `form-action` on the account pages to the
organisation's own OpenID Connect providers: the "log in with…" buttons are POST forms answered
by a redirect to the provider, and browsers apply `form-action` to that redirect too.
"""

from urllib.parse import urlsplit

from django.conf import settings


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.value = settings.MAIRIE_PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.value)
        return response


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


class IdentityProviderFormActionMiddleware:
    """Placed after django-csp's middleware, so that its `_csp_update` is read on the way out."""

    ACCOUNT_PAGES = "/comptes/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        org = getattr(request, "organisation", None)
        if (org is None or not request.path.startswith(self.ACCOUNT_PAGES)
                or "html" not in response.get("Content-Type", "")):
            return response
        from mairie.core.accounts.queries import identity_providers_for

        origins = sorted({origin for url in identity_providers_for(org)
                          .values_list("server_url", flat=True)
                          if (origin := _origin(url)) is not None})
        if origins:
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", []), *origins]
            response._csp_update = update
        return response
