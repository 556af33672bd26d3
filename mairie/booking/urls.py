from django.urls import path

from . import views

app_name = "booking"

urlpatterns = [
    path("agent/reservations/", views.resources, name="resources"),
    path("agenda/ressource/<str:token>.ics", views.resource_feed, name="resource-feed"),
    path("agenda/reservations/<str:token>.ics", views.user_feed, name="user-feed"),
]
