"""Routes of the accounts module (allauth's own pages live under /comptes/)."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("mon-compte/supprimer/", views.delete_account, name="delete"),
]
