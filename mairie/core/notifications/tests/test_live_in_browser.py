"""In Chromium, on a real uvicorn server: live.js updates the badge and announces the
notification politely, under our Content-Security-Policy, when `notify()` is called.

The harness (`tests/browser.py`) checks each state of the page with axe-core and fails the test
on any request to another host and any console error (a CSP refusal, a websocket that cannot
connect: uvicorn serves the websocket, unlike pytest-django's live server).
"""

import threading

import pytest

from mairie.core.notifications.services import mark_all_read, notify

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _call_in_another_thread(service, **kwargs) -> None:
    """Playwright runs an event loop in this thread; a service is called from a plain one,
    as a view or a task would be."""
    errors: list[BaseException] = []

    def run():
        try:
            service(**kwargs)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]


@pytest.mark.parametrize("who", ["agent", "resident"])
def test_badge_and_polite_announcement_update_live(asgi_server, new_page, page_watch,
                                                   organisation, request, who):
    user = request.getfixturevalue(who)
    page = new_page(origin=f"http://localhost:{asgi_server.port}", user=user)
    page.goto("/agent/notifications/")
    page.wait_for_selector("html[data-notifications-live=connected]", timeout=15000)
    assert page.locator("[aria-live=polite]").count() == 1

    _call_in_another_thread(notify, organisation=organisation, recipients=[user],
                            kind="system.announcement", title="Coupure d'eau demain matin")

    region = page.locator("[aria-live=polite]")
    region.filter(has_text="Coupure d'eau demain matin").wait_for(timeout=10000)
    assert region.inner_text().strip() == "Nouvelle notification : Coupure d'eau demain matin"
    if who == "agent":  # the workspace menu has the badge
        badge = page.locator("nav a[href='/agent/notifications/'] .badge")
        badge.wait_for(timeout=10000)
        assert badge.inner_text().split() == ["1", "non", "lues"]
    page_watch.recheck(page)  # the page with the announcement (and the badge)
    if who == "agent":
        # read in another tab: the count drops here too
        _call_in_another_thread(mark_all_read, actor=user, organisation=organisation)
        badge.wait_for(state="detached", timeout=10000)
    assert page_watch.problems == []  # a CSP refusal would be a console error
