from django.urls import path

from . import views, views_help, views_mandates

app_name = "crm"

urlpatterns = [
    path("agent/usagers/", views.search, name="search"),
    path("agent/usagers/nouvelle-fiche/", views.create, name="create"),
    path("agent/usagers/<uuid:pk>/", views.record, name="record"),
    path("agent/usagers/<uuid:pk>/contact/", views.log_interaction, name="log-interaction"),
    path("agent/usagers/<uuid:pk>/modifier/", views.edit, name="edit"),
    path("agent/usagers/<uuid:pk>/demarche/", views.file_for, name="file-for"),
    path("agent/usagers/<uuid:pk>/fusionner/", views.merge, name="merge"),
    path("agent/usagers/<uuid:pk>/mandats/", views_mandates.mandates, name="mandates"),
    path("agent/mandats/<uuid:pk>/", views_mandates.mandate, name="mandate"),
    path("agent/mandats/<uuid:pk>/mandat.pdf", views_mandates.mandate_pdf, name="mandate-pdf"),
    path("mon-compte/mandats/", views_mandates.my_mandates, name="my-mandates"),
    path("mon-compte/mandats/<uuid:pk>/revoquer/", views_mandates.revoke_mine,
         name="revoke-mine"),
    path("aide/", views_help.help_page, name="help"),
    path("aide/demande-envoyee/", views_help.help_sent, name="help-sent"),
    path("agent/aide/", views_help.help_queue, name="help-queue"),
    path("agent/aide/appel/", views_help.help_by_phone, name="help-by-phone"),
    path("agent/aide/<uuid:pk>/", views_help.help_request, name="help-request"),
]
