from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("comptes/", include("allauth.urls")),
    path("", include("mairie.api.urls")),  # /api/v1/… and /mon-compte/jetons/
    path("fichiers/", include("mairie.core.files.urls")),
    path("agent/notifications/", include("mairie.core.notifications.urls")),
    path("agent/organisation/", include("mairie.core.organisation.urls")),
    path("recherche/", include("mairie.core.search.urls")),
    path("", include("mairie.core.accounts.urls")),
    path("", include("mairie.core.web.urls")),
]
