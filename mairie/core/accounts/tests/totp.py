"""TOTP codes for the tests, taken early enough in their 30-second period to still be valid
when the form reaches the server (allauth accepts no clock drift by default)."""

import time

from allauth.mfa import app_settings

from mairie.core.factories import DEMO_TOTP_SECRET, current_totp_code


def fresh_totp_code(secret: str = DEMO_TOTP_SECRET, *, margin: float = 3) -> str:
    period = app_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < margin:
        time.sleep(left + 0.05)
    return current_totp_code(secret)
