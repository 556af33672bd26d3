"""Organisation chart in the agent workspace (mounted under /agent/organisation/)."""

from django.urls import path

from . import views

app_name = "organisation"

urlpatterns = [
    path("", views.chart, name="chart"),
    path("services/nouveau/", views.service_create, name="service-create"),
    path("services/<uuid:pk>/", views.service_detail, name="service-detail"),
    path("services/<uuid:pk>/modifier/", views.service_edit, name="service-edit"),
    path("services/<uuid:pk>/supprimer/", views.service_delete, name="service-delete"),
    path("services/<uuid:pk>/ajouter-un-agent/", views.member_add, name="member-add"),
    path("affectations/<uuid:pk>/role/", views.membership_role, name="membership-role"),
    path("affectations/<uuid:pk>/retirer/", views.membership_remove, name="membership-remove"),
]
