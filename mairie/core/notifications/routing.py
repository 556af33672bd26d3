"""Websocket routes of the notifications subsystem (aggregated by `mairie/routing.py`)."""

from django.urls import path

from .consumers import NotificationConsumer, members_only

websocket_urlpatterns = [
    path("ws/", members_only(NotificationConsumer.as_asgi())),
]
