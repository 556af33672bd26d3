from django.urls import path

from . import views, views_agent

app_name = "procedures"

urlpatterns = [
    path("demarches/", views.catalogue, name="catalogue"),
    path("demarches/dossiers/<uuid:pk>/page/<slug:page_key>/", views.fill_page, name="page"),
    path("demarches/dossiers/<uuid:pk>/recapitulatif/", views.review, name="review"),
    path("demarches/dossiers/<uuid:pk>/recepisse/", views.receipt, name="receipt"),
    path("demarches/dossiers/<uuid:pk>/recepisse.pdf", views.receipt_pdf, name="receipt-pdf"),
    path("demarches/<slug:slug>/", views.procedure_page, name="procedure"),
    path("mes-demarches/", views.my_dossiers, name="my-dossiers"),
    path("suivi/<str:code>/", views.tracking, name="tracking"),
    path("agent/dossiers/", views_agent.inbox, name="agent-inbox"),
    path("agent/dossiers/<uuid:pk>/", views_agent.dossier_page, name="agent-dossier"),
]
