from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("mon-compte/mes-donnees/", views.my_data, name="my-data"),
    path("mon-compte/mes-donnees.json", views.my_data_json, name="my-data-json"),
    path("mon-compte/mes-donnees.pdf", views.my_data_pdf, name="my-data-pdf"),
    path("agent/registre-des-traitements/", views.register_of_activities, name="register"),
    path("agent/rgpd/demandes/", views.requests, name="requests"),
    path("agent/rgpd/demandes/<uuid:pk>/", views.privacy_request, name="request"),
]
