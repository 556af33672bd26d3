"""Steps that several journeys share, written as a person would do them in the browser."""

from __future__ import annotations

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from mairie.core.factories import DEFAULT_PASSWORD, DEMO_TOTP_SECRET


def fresh_totp_code(secret: str = DEMO_TOTP_SECRET, *, margin: int = 4) -> str:
    """The code an authenticator app shows, taken early enough in its period that the server
    still accepts it when the form arrives (allauth tolerates no drift by default)."""
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < margin:
        time.sleep(period - time.time() % period + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def submit(form) -> None:
    """Press the form's own submit button (the header has other forms and buttons)."""
    form.locator("button[type=submit], input[type=submit]").first.click()


def log_in(
    page,
    *,
    email: str,
    password: str = DEFAULT_PASSWORD,
    totp_secret: str | None = None,
    next_url: str = "",
) -> None:
    """Log in through the login form, then the TOTP form when the account has one.

    allauth accepts each TOTP code once per account: log the same agent in at most once per
    30-second period (the suite clears the cache between tests)."""
    page.goto("/comptes/login/" + (f"?next={next_url}" if next_url else ""))
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(password)
    submit(form)
    if totp_secret is not None:
        page.wait_for_url("**/2fa/authenticate/**")
        code_form = page.locator("form:has(input[name=code])")
        code_form.locator("input[name=code]").fill(fresh_totp_code(totp_secret))
        submit(code_form)
    page.wait_for_url(lambda url: "/comptes/" not in url)
