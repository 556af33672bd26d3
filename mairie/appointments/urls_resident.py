"""Residents' pages beyond the offer: booking, the signed links, « Mes rendez-vous »."""

from django.urls import path

from . import views_resident as views

urlpatterns = [
    path("rendez-vous/<uuid:type_pk>/creneau/<uuid:slot_pk>/", views.book, name="book"),
    path("rendez-vous/<uuid:type_pk>/liste-d-attente/", views.waiting_list,
         name="waiting-list"),
    path("rendez-vous/confirme/<str:token>/", views.confirmed, name="confirmed"),
    path("rendez-vous/gerer/<str:token>/", views.manage, name="manage"),
    path("rendez-vous/gerer/<str:token>/annuler/", views.cancel, name="cancel"),
    path("rendez-vous/gerer/<str:token>/deplacer/", views.move, name="move"),
    path("rendez-vous/gerer/<str:token>/rendez-vous.ics", views.calendar_file, name="ics"),
    path("rendez-vous/liste-d-attente/desinscription/<str:token>/", views.waiting_list_leave,
         name="waiting-list-leave"),
    path("mes-rendez-vous/", views.mine, name="mine"),
]
