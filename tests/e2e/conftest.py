"""Browser journeys: one file per journey a person makes through the site.

The harness they run on — the `page`, `new_page`, `page_watch` and `browser` fixtures, axe-core
on every page, no third-party request, no console error, Chromium deselected or required — is the
plugin `tests/browser.py`, registered by the root `conftest.py` for the whole suite. Steps that
several journeys share are in `steps.py`.
"""
