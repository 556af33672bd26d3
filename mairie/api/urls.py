"""Routes of the API app: the versioned REST API under /api/v1/, and the token pages of
"Mon compte". Mounted at the site root so both share the `api` namespace."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from mairie.appointments import api as appointments_api
from mairie.booking import api as booking_api
from mairie.procedures import api as procedures_api

from . import api, errors, views

app_name = "api"

router = SimpleRouter(use_regex_path=False)
router.register("services", api.ServiceViewSet, basename="service")
# Procedures engine (mairie/procedures/api.py).
router.register("procedures", procedures_api.ProcedureViewSet, basename="procedure")
router.register("dossiers", procedures_api.DossierViewSet, basename="dossier")
# Appointments (mairie/appointments/api.py).
router.register("appointment-types", appointments_api.AppointmentTypeViewSet,
                basename="appointment-type")
router.register("appointments", appointments_api.AppointmentViewSet, basename="appointment")
router.register("counters", appointments_api.CounterViewSet, basename="counter")
router.register("desk-appointments", appointments_api.DeskAppointmentViewSet,
                basename="desk-appointment")
# Booking of rooms, vehicles and equipment (mairie/booking/api.py).
router.register("resources", booking_api.ResourceViewSet, basename="resource")
router.register("reservations", booking_api.ReservationViewSet, basename="reservation")
router.register("reservation-series", booking_api.ReservationSeriesViewSet,
                basename="reservation-series")
router.register("loans", booking_api.LoanViewSet, basename="loan")

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
