from django.urls import path

from . import views

app_name = "booking"

urlpatterns = [
    path("agent/reservations/", views.resources, name="resources"),
    path("agent/reservations/ressources/nouvelle/", views.resource_form, name="resource-new"),
    path("agent/reservations/ressources/<uuid:pk>/", views.resource, name="resource"),
    path("agent/reservations/ressources/<uuid:pk>/modifier/", views.resource_form,
         name="resource-edit"),
    path("agent/reservations/ressources/<uuid:pk>/activation/", views.resource_active,
         name="resource-active"),
    path("agent/reservations/ressources/<uuid:pk>/agenda/nouveau-lien/",
         views.resource_feed_reset, name="resource-feed-reset"),
    path("agent/reservations/ressources/<uuid:pk>/reserver/", views.reserve, name="reserve"),
    path("agent/reservations/ressources/<uuid:pk>/preter/", views.check_out, name="check-out"),
    path("agent/reservations/mes-reservations/", views.mine, name="mine"),
    path("agent/reservations/mes-reservations/agenda/nouveau-lien/", views.feed_reset,
         name="feed-reset"),
    path("agent/reservations/<uuid:pk>/annuler/", views.cancel, name="cancel"),
    path("agent/reservations/a-valider/", views.approvals, name="approvals"),
    path("agent/reservations/a-valider/<uuid:pk>/", views.decide, name="decide"),
    path("agent/reservations/prets/", views.loans, name="loans"),
    path("agent/reservations/prets/<uuid:pk>/retour/", views.check_in, name="check-in"),
    path("agenda/ressource/<str:token>.ics", views.resource_feed, name="resource-feed"),
    path("agenda/reservations/<str:token>.ics", views.user_feed, name="user-feed"),
]
