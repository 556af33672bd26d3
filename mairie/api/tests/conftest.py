"""Fixtures of the API tests: tokens created through the real service."""

import datetime as dt

import pytest
from django.utils import timezone

from mairie.api.services import create_token


@pytest.fixture
def make_token():
    """`make_token(user, scopes=["read"], expires_at=None)` → (token, raw key)."""

    def make(user, scopes=("read",), expires_at=None, name="Script de test"):
        return create_token(actor=user, organisation=user.organisation, name=name,
                            scopes=list(scopes), expires_at=expires_at)

    return make


def token_header(raw_key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {raw_key}"}


def in_days(days: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)

