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


def file_civil_status_request(page, page_watch, *, record_pk, name: str, surname: str) -> None:
    """From a resident's record, open « Demande d'acte d'état civil » for them, fill it with
    them (a birth certificate) and send it."""
    page.goto(f"/agent/usagers/{record_pk}/")
    page.select_option("[name=procedure]", label="Demande d'acte d'état civil")
    page.get_by_role("button", name="Ouvrir la démarche").click()
    page.wait_for_selector(f"text=Remplissez la démarche avec {name}")
    page_watch.check(page)
    page.check("text=Acte de naissance")
    page.fill("[name=nom]", surname)
    page.click("main form button[value=next]")
    page.wait_for_selector("h1:has-text('Vérifier et envoyer')")
    page_watch.check(page)
    page.get_by_role("button", name="Envoyer", exact=True).click()
    page.wait_for_selector("text=Dossier n°")
    page_watch.check(page)


def scan_at_the_counter(page, page_watch, *, image_path, title: str) -> None:
    """On the scan page, send a scanned page through the plain file input and wait until its
    text is read."""
    page.locator("input[type=file]").set_input_files(str(image_path))
    page.get_by_label("Ce que c'est (facultatif)").fill(title)
    page.get_by_role("button", name="Enregistrer le document").click()
    page.wait_for_selector("text=Texte lu dans le document")
    page_watch.check(page)


def find_resident_by_document_word(page, page_watch, *, word: str, name: str) -> None:
    """Search the residents by a word of a scanned document and open the record found."""
    page.goto("/agent/usagers/")
    page.get_by_role("searchbox").fill(word)
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_selector("text=Trouvé dans un document numérisé")
    page_watch.check(page)
    page.get_by_role("link", name=name).click()
    page.wait_for_selector(f"h1:has-text('{name}')")
