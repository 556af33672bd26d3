from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

# The technical administration logs in through allauth (second factor, lockout, audit), never
# through Django admin's own password-only form.
admin_login = RedirectView.as_view(pattern_name="account_login", query_string=True)

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("comptes/", include("allauth.urls")),
    path("", include("mairie.api.urls")),  # /api/v1/… and /mon-compte/jetons/
    path("fichiers/", include("mairie.core.files.urls")),
    path("agent/notifications/", include("mairie.core.notifications.urls")),
    path("agent/organisation/", include("mairie.core.organisation.urls")),
    path("recherche/", include("mairie.core.search.urls")),
    path("", include("mairie.core.accounts.urls")),
    path("", include("mairie.procedures.urls")),  # /demarches/, /mes-demarches/, /suivi/
    path("", include("mairie.crm.urls")),  # /agent/usagers/…
    path("", include("mairie.appointments.urls")),  # /rendez-vous/…
    path("", include("mairie.booking.urls")),  # /agent/reservations/, /agenda/….ics
    path("", include("mairie.core.privacy.urls")),  # /mon-compte/mes-donnees/…
    path("", include("mairie.core.web.urls")),
]
