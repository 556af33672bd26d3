from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mairie.api"
    label = "api"
