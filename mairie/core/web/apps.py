from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "mairie.core.web"
    label = "web"
