"""Routes of the API app: the versioned REST API under /api/v1/, and the token pages of
"Mon compte". Mounted at the site root so both share the `api` namespace."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from mairie.procedures import api as procedures_api

from . import api, errors, views

app_name = "api"

router = SimpleRouter(use_regex_path=False)
router.register("services", api.ServiceViewSet, basename="service")
# Procedures engine (mairie/procedures/api.py).
router.register("procedures", procedures_api.ProcedureViewSet, basename="procedure")
router.register("dossiers", procedures_api.DossierViewSet, basename="dossier")

v1 = [
    path("me/", api.MeView.as_view(), name="me"),
    path("me", api.MeAliasView.as_view()),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.ApiDocsView.as_view(), name="docs"),
    *router.urls,
    re_path(r"^.*$", errors.not_found),
]

urlpatterns = [
    path("api/v1/", include(v1)),
    path("mon-compte/jetons/", views.tokens, name="tokens"),
    path("mon-compte/jetons/<uuid:pk>/revoquer/", views.revoke, name="token-revoke"),
]
