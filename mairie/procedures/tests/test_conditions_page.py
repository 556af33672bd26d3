"""What the filing page gives procedures/conditions.js (no browser): the conditional inputs,
only the saved answers the conditions read, and the script itself only where it is useful.
Without JavaScript the conditional field is on the page (tests in test_filing_views.py)."""

import json
import re

import pytest

from .helpers import FIRST_PAGE, page_url, post_page, start


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client


def _data(body: str) -> dict:
    match = re.search(r'<script id="procedure-conditions" type="application/json">(.*?)</script>',
                      body, re.S)
    assert match, "no conditions data on the page"
    return json.loads(match.group(1))


def test_the_page_lists_its_conditional_inputs_for_the_script(resident_client, procedure):
    dossier, _ = start(resident_client, procedure)
    post_page(resident_client, dossier, "identite", {**FIRST_PAGE, "situation": "couple",
                                                     "conjoint": "Durand"}, action="draft")
    body = resident_client.get(page_url(dossier, "identite")).content.decode()
    assert 'src="/static/procedures/conditions.js"' in body
    assert 'data-condition="situation == &quot;couple&quot;"' in body  # on the input itself
    assert 'value="Durand"' in body  # shown without JavaScript, with its answer
    data = _data(body)
    conjoint = next(e for e in data["entries"] if e["key"] == "conjoint")
    assert conjoint == {"name": "conjoint", "key": "conjoint", "type": "text",
                        "inputs": ["conjoint"], "condition": 'situation == "couple"',
                        "required": True}
    # Only what the conditions read leaves the server (not the name, not the age).
    assert data["answers"] == {"situation": "couple"}


def test_a_page_without_conditions_loads_no_script(resident_client, procedure):
    dossier, _ = start(resident_client, procedure)
    post_page(resident_client, dossier, "identite", FIRST_PAGE)
    body = resident_client.get(page_url(dossier, "contact")).content.decode()
    assert "<script" not in body
