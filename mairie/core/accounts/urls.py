"""Routes (placeholders until the module's views land: they answer 404)."""

from django.http import Http404
from django.urls import path

app_name = "accounts"


def _not_yet(request, **kwargs):
    raise Http404


urlpatterns = [
    path("mon-compte/supprimer/", _not_yet, name="delete"),
]
