"""The bound on requests running at once (decision 0500): the ones past it wait their turn, and
only a request that waited too long gets the « service très demandé » page, never an error."""

import asyncio
import json

from mairie.core.web.inflight import InFlightLimit


class SlowApp:
    """An ASGI app whose requests stay in until `release` is set; it records the peak."""

    def __init__(self):
        self.release = asyncio.Event()
        self.running = 0
        self.peak = 0
        self.served: list[str] = []

    async def __call__(self, scope, receive, send):
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await self.release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": scope["path"].encode()})
            self.served.append(scope["path"])
        finally:
            self.running -= 1


async def call(app, path: str, *, kind: str = "http", language: bytes = b"fr-FR,fr;q=0.9",
               cookie: bytes = b""):
    messages: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    sent = [(b"accept-language", language)] + ([(b"cookie", cookie)] if cookie else [])
    scope = {"type": kind, "path": path, "headers": sent}
    await app(scope, receive, send)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start") \
        if messages else None
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    headers = dict(next((m["headers"] for m in messages
                         if m["type"] == "http.response.start"), []))
    return status, headers, body


def test_requests_past_the_limit_wait_their_turn_and_are_all_served_in_order():
    async def scenario():
        inner = SlowApp()
        app = InFlightLimit(inner, limit=2, queue_timeout=5)
        tasks = [asyncio.create_task(call(app, f"/rendez-vous/{n}/")) for n in range(6)]
        await asyncio.sleep(0.05)
        assert inner.running == 2  # the other four wait outside Django
        inner.release.set()
        results = await asyncio.gather(*tasks)
        return inner, results

    inner, results = asyncio.run(scenario())
    assert [status for status, _, _ in results] == [200] * 6
    assert inner.peak == 2
    assert inner.served == [f"/rendez-vous/{n}/" for n in range(6)]


def test_a_request_that_waited_too_long_gets_a_clear_page_with_retry_after():
    async def scenario():
        inner = SlowApp()
        app = InFlightLimit(inner, limit=1, queue_timeout=0.1)
        first = asyncio.create_task(call(app, "/rendez-vous/passeport/"))
        await asyncio.sleep(0.01)
        french = await call(app, "/rendez-vous/passeport/")
        english = await call(app, "/rendez-vous/passeport/", language=b"en-GB,en;q=0.8")
        api = await call(app, "/api/v1/appointments/")
        chosen = await call(app, "/rendez-vous/", language=b"fr-FR",
                            cookie=b"csrftoken=abc; django_language=en")
        inner.release.set()
        return await first, french, english, api, chosen

    first, french, english, api, chosen = asyncio.run(scenario())
    assert first[0] == 200
    status, headers, body = french
    assert status == 503
    assert headers[b"retry-after"] == b"1"
    page = body.decode()
    assert '<html lang="fr">' in page and "<h1>Service très demandé</h1>" in page
    assert "Rien n’a été enregistré" in page and "réessayez dans une minute" in page
    assert english[0] == 503 and "Nothing was saved" in english[2].decode()
    # The language chosen with the site's switch (its cookie) wins over the browser's.
    assert '<html lang="en">' in chosen[2].decode()
    assert api[0] == 503 and api[1][b"content-type"] == b"application/json"
    assert "réessayez" in json.loads(api[2])["detail"]


def test_a_freed_place_goes_to_the_next_request_waiting():
    async def scenario():
        inner = SlowApp()
        app = InFlightLimit(inner, limit=1, queue_timeout=5)
        first = asyncio.create_task(call(app, "/a/"))
        second = asyncio.create_task(call(app, "/b/"))
        await asyncio.sleep(0.02)
        inner.release.set()
        return await asyncio.gather(first, second), inner

    results, inner = asyncio.run(scenario())
    assert [r[0] for r in results] == [200, 200]
    assert inner.served == ["/a/", "/b/"]


def test_static_files_and_websockets_are_not_held_back():
    async def scenario():
        inner = SlowApp()
        app = InFlightLimit(inner, limit=1, queue_timeout=0.05, exempt_prefixes=("/static/",))
        blocker = asyncio.create_task(call(app, "/rendez-vous/"))
        static = asyncio.create_task(call(app, "/static/css/mairie.css"))
        socket = asyncio.create_task(call(app, "/ws/notifications/", kind="websocket"))
        await asyncio.sleep(0.1)
        assert inner.running == 3  # both went straight in beside the one holding the place
        inner.release.set()
        return await asyncio.gather(blocker, static, socket)

    statuses = [status for status, _, _ in asyncio.run(scenario())]
    assert statuses == [200, 200, 200]


def test_the_production_application_applies_the_configured_limit(settings):
    from mairie import asgi

    http = asgi.application.application_mapping["http"]
    assert isinstance(http, InFlightLimit)
    assert http.limit == settings.WEB_MAX_IN_FLIGHT > 0
    assert http.exempt_prefixes == (settings.STATIC_URL,)
