"""The live socket, end to end: a real uvicorn server, a real websocket client, notify().

Runs with the in-memory channel layer (embedded mode; the server is a thread of this process)
and, when REDIS_URL is set, with channels-redis.
"""

import json
import urllib.request

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from mairie.core.notifications.models import Notification
from mairie.core.notifications.services import mark_read, notify

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "http://localhost"


def _open(server, cookie=None, *, host=None):
    headers = {"Cookie": cookie} if cookie else {}
    if host is None:
        return connect(f"ws://{server.host}/ws/", origin=ORIGIN, additional_headers=headers,
                       open_timeout=10)
    # Another Host header: the URI says which, the socket goes to our server.
    return connect(f"ws://{host}:{server.port}/ws/", sock=server.connect_socket(),
                   origin=f"http://{host}", additional_headers=headers, open_timeout=10)


def _receive(ws) -> dict:
    return json.loads(ws.recv(timeout=10))


def test_a_notification_is_pushed_to_its_recipients_socket(asgi_server, session_cookie,
                                                           organisation, agent, resident):
    with _open(asgi_server, session_cookie(agent)) as ws:
        notify(organisation=organisation, recipients=[resident], kind="system.announcement",
               title="Pour quelqu'un d'autre")
        notify(organisation=organisation, recipients=[agent], kind="system.announcement",
               title="Réunion à 14 h", body="Salle du conseil", url="/agent/")
        message = _receive(ws)
        stored = Notification.objects.get(recipient=agent)
        assert message == {"type": "notification", "id": str(stored.pk),
                           "kind": "system.announcement", "title": "Réunion à 14 h",
                           "body": "Salle du conseil", "url": "/agent/", "unread_count": 1}
        mark_read(actor=agent, notification=stored)
        assert _receive(ws) == {"type": "unread", "unread_count": 0}


def test_every_open_tab_of_the_user_gets_the_push(asgi_server, session_cookie, organisation,
                                                  resident):
    cookie = session_cookie(resident)
    with _open(asgi_server, cookie) as first, _open(asgi_server, cookie) as second:
        notify(organisation=organisation, recipients=[resident], kind="system.announcement",
               title="Votre dossier avance")
        assert _receive(first)["title"] == "Votre dossier avance"
        assert _receive(second)["title"] == "Votre dossier avance"


def test_anonymous_websocket_is_refused(asgi_server, organisation):
    with pytest.raises(InvalidStatus) as refused:
        _open(asgi_server)
    assert refused.value.response.status_code == 403


def test_a_session_on_another_organisations_host_is_refused(asgi_server, session_cookie,
                                                            organisation, other_organisation,
                                                            agent):
    with pytest.raises(InvalidStatus) as refused:
        _open(asgi_server, session_cookie(agent), host="autre.localhost")
    assert refused.value.response.status_code == 403


def test_a_foreign_origin_is_refused(asgi_server, session_cookie, organisation, agent):
    with pytest.raises(InvalidStatus):
        connect(f"ws://{asgi_server.host}/ws/", origin="https://evil.example",
                additional_headers={"Cookie": session_cookie(agent)}, open_timeout=10)


def test_pages_are_served_by_the_same_asgi_application(asgi_server, session_cookie,
                                                       organisation, agent):
    notify(organisation=organisation, recipients=[agent], kind="system.announcement",
           title="Vue par HTTP")
    request = urllib.request.Request(f"http://{asgi_server.host}/agent/notifications/",
                                     headers={"Cookie": session_cookie(agent),
                                              "Host": "localhost"})
    with urllib.request.urlopen(request, timeout=10) as response:
        html = response.read().decode()
    assert "Vue par HTTP" in html
    assert '<script type="module" src="/static/notifications/live.js"' in html


def test_notifications_stored_by_the_hundred_are_pushed_by_the_worker(
        asgi_server, session_cookie, organisation, resident):
    """A pass that tells hundreds of applicants at once hands the live pushes to the worker
    (eager here): the connected one still gets hers, with the right unread count."""
    from mairie.core.factories import UserFactory
    from mairie.core.notifications.services import PUSH_INLINE_MAX, notify_many

    others = [UserFactory(organisation=organisation) for _ in range(PUSH_INLINE_MAX)]
    with _open(asgi_server, session_cookie(resident)) as ws:
        notify_many(organisation=organisation, items=[
            {"recipient": user, "kind": "system.announcement",
             "title": f"Décision pour {user.email}"} for user in [*others, resident]])
        message = _receive(ws)
    assert message["title"] == f"Décision pour {resident.email}"
    assert message["unread_count"] == 1
    assert message["id"] == str(Notification.objects.get(recipient=resident).pk)
    assert Notification.objects.filter(organisation=organisation).count() == len(others) + 1
