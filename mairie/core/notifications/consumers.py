"""The notifications websocket (`/ws/`): pushes each new notification to its recipient's tabs.

Protocol (server → client only, JSON text frames):
- `{"type": "notification", "id", "kind", "title", "body", "url", "unread_count"}` when a
  notification arrives;
- `{"type": "unread", "unread_count"}` when the unread count drops (read in another tab).
Anonymous connections, and sessions opened on another collectivité's host, are refused at the
handshake (HTTP 403). Pages never depend on this socket: it only refreshes what is already there.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from mairie.core.tenancy.queries import organisation_for_host

from .services import group_for_user


def _host_of(scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.decode("latin-1")
    return ""


def members_only(app):
    """Refuse anonymous websockets before a consumer exists, so a refused connection never
    subscribes to the channel layer (no Redis work for unauthenticated clients)."""

    async def guard(scope, receive, send):
        user = scope.get("user")
        if scope["type"] == "websocket" and (user is None or not user.is_authenticated):
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        await app(scope, receive, send)

    return guard


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    group_name: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        organisation = await database_sync_to_async(organisation_for_host)(_host_of(self.scope))
        if organisation is None or (user.organisation_id != organisation.pk
                                    and not user.is_superuser):
            await self.close()
            return
        self.group_name = group_for_user(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code) -> None:
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """Clients have nothing to say on this socket; whatever they send is ignored."""

    async def notification_push(self, event) -> None:
        await self.send_json(event["payload"])
