from django.urls import path

from . import urls_agent, urls_resident, views

app_name = "appointments"

urlpatterns = [
    path("rendez-vous/", views.types, name="types"),
    path("rendez-vous/<uuid:pk>/", views.free_slots, name="free-slots"),
]

urlpatterns += urls_resident.urlpatterns  # booking, the signed links, « Mes rendez-vous »

urlpatterns += urls_agent.urlpatterns  # /agent/rendez-vous/… (the desk, the plan)
