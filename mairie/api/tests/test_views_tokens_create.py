import datetime as dt
import re
import zoneinfo

import pytest

from mairie.api.models import PersonalToken, hash_key
from mairie.api.services import local_today
from mairie.core.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
URL = "/mon-compte/jetons/"
KEY = re.compile(r'value="(mtk_[A-Za-z0-9_-]+)"')


def _form(organisation, **overrides):
    data = {"name": "Tableur du budget", "scopes": ["read"],
            "expires_on": (local_today(organisation) + dt.timedelta(days=30)).isoformat()}
    data.update(overrides)
    return data


def test_creating_a_token_shows_its_key_once(client, resident):
    client.force_login(resident)

    response = client.post(URL, _form(resident.organisation, scopes=["read", "write"]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    keys = KEY.findall(html)
    assert len(keys) == 1
    raw_key = keys[0]
    assert "Il ne sera plus jamais affiché" in html
    token = PersonalToken.objects.get(user=resident)
    assert token.key_hash == hash_key(raw_key)
    assert token.scopes == ["read", "write"]
    assert AuditEvent.objects.filter(action="api.token_created", actor=resident).count() == 1
    # The key works…
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {raw_key}")
    assert me.status_code == 200
    # …and is never shown again.
    again = client.get(URL).content.decode()
    assert raw_key not in again
    assert token.prefix in again


def test_the_chosen_day_is_the_last_day_the_token_works(client, resident):
    client.force_login(resident)
    day = local_today(resident.organisation) + dt.timedelta(days=10)
    client.post(URL, _form(resident.organisation, expires_on=day.isoformat()))
    token = PersonalToken.objects.get(user=resident)
    paris = zoneinfo.ZoneInfo(resident.organisation.time_zone)
    assert token.expires_at.astimezone(paris) == dt.datetime.combine(
        day, dt.time.max, tzinfo=paris)


def test_the_french_date_format_is_accepted(client, resident):
    client.force_login(resident)
    day = local_today(resident.organisation) + dt.timedelta(days=5)
    response = client.post(URL, _form(resident.organisation,
                                      expires_on=day.strftime("%d/%m/%Y")))
    assert response.status_code == 200
    assert PersonalToken.objects.filter(user=resident).count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "Donnez un nom au jeton."),
        ({"scopes": []}, "Choisissez au moins une portée."),
        ({"scopes": ["everything"]}, "Portées"),
        ({"expires_on": "2001-01-01"}, "aujourd&#x27;hui ou après"),
        ({"expires_on": "2999-01-01"}, "un an"),
    ],
)
def test_invalid_forms_explain_the_problem_and_create_nothing(client, resident, overrides,
                                                              message):
    client.force_login(resident)
    response = client.post(URL, _form(resident.organisation, **overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Le formulaire contient des erreurs" in html
    assert message in html
    assert not KEY.search(html)
    assert not PersonalToken.objects.exists()


def test_anonymous_visitors_cannot_create_tokens(client, organisation):
    response = client.post(URL, _form(organisation))
    assert response.status_code == 302
    assert not PersonalToken.objects.exists()


def test_a_token_created_on_another_organisations_host_belongs_to_it(client, foreign_agent):
    client.force_login(foreign_agent)
    response = client.post(URL, _form(foreign_agent.organisation), HTTP_HOST="autre.localhost")
    assert response.status_code == 200
    token = PersonalToken.objects.get()
    assert token.organisation == foreign_agent.organisation
