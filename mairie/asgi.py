"""ASGI entry point: HTTP through Django (a bounded number at once, `inflight`), websockets
through Channels (/ws/)."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mairie.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from mairie.core.web.inflight import InFlightLimit  # noqa: E402
from mairie.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": InFlightLimit(
            django_asgi_app, limit=settings.WEB_MAX_IN_FLIGHT,
            queue_timeout=settings.WEB_QUEUE_TIMEOUT, exempt_prefixes=(settings.STATIC_URL,)),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
