"""WSGI entry point (the ASGI one, mairie.asgi, is preferred: it also serves websockets)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mairie.settings")
application = get_wsgi_application()
