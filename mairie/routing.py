"""Websocket routes of every app."""

from mairie.core.notifications.routing import websocket_urlpatterns as notifications_ws

websocket_urlpatterns = [*notifications_ws]
