"""Mairie: the continuity platform of a French-speaking local government."""

from .celery import app as celery_app

__all__ = ["celery_app"]
