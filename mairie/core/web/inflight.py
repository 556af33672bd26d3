"""A bound on the HTTP requests that run at once in one server process (decision 0500).

Under ASGI, Django runs each request's synchronous code in a thread of its own, and each of
those threads takes a connection from the process's pool (decision 0494). In a rush, a
thousand requests in flight meant a thousand threads fighting for the interpreter and queueing
for twenty connections, and those still queued after `DB_POOL_TIMEOUT` answered 500.

`InFlightLimit` lets `limit` requests into Django at once; the next ones wait in the event
loop, which costs nothing, in order of arrival. A request that has waited `queue_timeout`
seconds gets a short « service très demandé » page (503 with `Retry-After`) instead of an
error page; with the limit equal to the pool's size, no request ever waits for a connection.
Static files and websockets are not counted.
"""

import asyncio
import json
import weakref
from html import escape
from http.cookies import SimpleCookie

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import trans_real

BUSY_TITLE = _("Service très demandé")
BUSY_TEXT = _("Beaucoup de personnes utilisent le service en ce moment. Rien n’a été "
              "enregistré pour cette demande : réessayez dans une minute.")


def _language(scope) -> str:
    """The page's language as Django's LocaleMiddleware would choose it, from what this
    wrapper has (no session): the language cookie, then Accept-Language, then LANGUAGE_CODE."""
    headers = {name.decode("latin-1"): value.decode("latin-1")
               for name, value in scope.get("headers", ())}
    wanted = [morsel.value for name, morsel in SimpleCookie(headers.get("cookie", "")).items()
              if name == settings.LANGUAGE_COOKIE_NAME]
    wanted += [code for code, _quality in
               trans_real.parse_accept_lang_header(headers.get("accept-language", ""))]
    for code in wanted:
        try:
            return trans_real.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def busy_response(scope, retry_after: int) -> tuple[dict, bytes]:
    """The 503 start message and body for a request that could not get in."""
    language = _language(scope)
    with translation.override(language):
        title, text = str(BUSY_TITLE), str(BUSY_TEXT)
    if scope.get("path", "").startswith("/api/"):
        body = json.dumps({"detail": text}).encode()
        content_type = b"application/json"
    else:
        body = (
            f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title></head><body><main>"
            f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
            "</main></body></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    start = {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
            (b"cache-control", b"no-store"),
        ],
    }
    return start, body


class InFlightLimit:
    def __init__(self, app, *, limit: int, queue_timeout: float,
                 exempt_prefixes: tuple[str, ...] = ()):
        self.app = app
        self.limit = limit
        self.queue_timeout = queue_timeout
        self.exempt_prefixes = exempt_prefixes
        self._semaphores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        return semaphore

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or self.limit <= 0
                or scope.get("path", "").startswith(self.exempt_prefixes)):
            return await self.app(scope, receive, send)
        semaphore = self._semaphore()
        try:
            async with asyncio.timeout(self.queue_timeout):
                await semaphore.acquire()
        except TimeoutError:
            start, body = busy_response(scope, retry_after=max(1, round(self.queue_timeout)))
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return None
        try:
            return await self.app(scope, receive, send)
        finally:
            semaphore.release()
