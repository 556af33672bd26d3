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


def pytest_collection_modifyitems(config, items):
    """Like the journeys of tests/e2e: without Chromium the browser tests of this folder are
    deselected (with the reason printed), unless MAIRIE_REQUIRE_E2E=1 makes them mandatory."""
    import os
    import shutil
    from pathlib import Path

    here = Path(__file__).resolve().parent
    ours = [item for item in items if item.get_closest_marker("e2e")
            and Path(str(item.path)).resolve().parent == here]
    chromium = os.environ.get("MAIRIE_CHROMIUM") or shutil.which("chromium")
    if not ours or chromium or os.environ.get("MAIRIE_REQUIRE_E2E", "") not in ("", "0"):
        return
    items[:] = [item for item in items if item not in ours]
    config.hook.pytest_deselected(items=ours)
    print(f"\nmairie/api: {len(ours)} tests navigateur désélectionnés (Chromium introuvable).")
