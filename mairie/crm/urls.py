from django.urls import path

from . import views

app_name = "crm"

urlpatterns = [
    path("agent/usagers/", views.search, name="search"),
    path("agent/usagers/nouvelle-fiche/", views.create, name="create"),
    path("agent/usagers/<uuid:pk>/", views.record, name="record"),
    path("agent/usagers/<uuid:pk>/contact/", views.log_interaction, name="log-interaction"),
    path("agent/usagers/<uuid:pk>/modifier/", views.edit, name="edit"),
    path("agent/usagers/<uuid:pk>/fusionner/", views.merge, name="merge"),
]
