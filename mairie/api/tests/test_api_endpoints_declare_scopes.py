"""Every API endpoint of the project, present and future, checks the scopes of tokens.

`TokenScopePermission` is a default permission class; a view that sets its own
`permission_classes` must keep it, or be open to anyone (a token then adds nothing).
"""

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from mairie.api.permissions import TokenScopePermission


def _api_views(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None)
            if isinstance(view, type) and issubclass(view, APIView):
                yield prefix + str(pattern.pattern), view


def _classes(permission):
    """The permission classes inside `IsAuthenticated & Foo`-style compositions."""
    if isinstance(permission, type):
        yield permission
        return
    for operand in ("op1_class", "op2_class"):
        if hasattr(permission, operand):
            yield from _classes(getattr(permission, operand))


def test_every_api_view_checks_token_scopes_or_is_public():
    views = list(_api_views())
    assert any("api/v1/me/" in route for route, _ in views)
    unchecked = []
    for route, view in views:
        classes = [c for p in view.permission_classes for c in _classes(p)]
        if any(issubclass(c, TokenScopePermission) for c in classes):
            continue
        if classes and all(issubclass(c, AllowAny) for c in classes):
            continue
        unchecked.append(f"{route} ({view.__module__}.{view.__name__})")
    assert unchecked == [], "API views that ignore token scopes: " + ", ".join(unchecked)
