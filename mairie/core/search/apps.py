from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "mairie.core.search"
    label = "search"
