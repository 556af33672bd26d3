"""Routes of the notifications pages (mounted under /agent/notifications/)."""

from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("tout-marquer-lu/", views.mark_all_read, name="mark-all-read"),
    path("<uuid:pk>/marquer-lue/", views.mark_read, name="mark-read"),
    path("preferences/", views.preferences, name="preferences"),
]
