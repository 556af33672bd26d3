from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("rendez-vous/", views.types, name="types"),
    path("rendez-vous/<uuid:pk>/", views.free_slots, name="free-slots"),
]
