"""Celery application: eager and in-process by default, a real broker when configured."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mairie.settings")

app = Celery("mairie")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
