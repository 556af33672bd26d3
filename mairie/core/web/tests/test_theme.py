"""Each organisation's colours and logo, on its own host, on the portal and in the workspace."""

import re

import pytest

from mairie.core.tenancy.colours import contrast_ratio, readable_text_on


def _theme_link(response) -> str:
    match = re.search(r'<link rel="stylesheet" href="(/theme\.css[^"]*)"', response.text)
    assert match is not None, "the page does not link the theme stylesheet"
    return match.group(1)


@pytest.mark.django_db
def test_each_host_gets_its_own_colours(client, organisation, other_organisation):
    organisation.primary_colour = "#1f4e79"
    organisation.save()
    other_organisation.primary_colour = "#6a1b9a"
    other_organisation.secondary_colour = "#00695c"
    other_organisation.save()
    mine = client.get(_theme_link(client.get("/")))
    theirs = client.get(_theme_link(client.get("/", HTTP_HOST="autre.localhost")),
                        HTTP_HOST="autre.localhost")
    assert mine["Content-Type"] == "text/css; charset=utf-8"
    assert "--colour-primary: #1f4e79;" in mine.text
    assert "#6a1b9a" not in mine.text
    assert "--colour-primary: #6a1b9a;" in theirs.text
    assert "--colour-secondary: #00695c;" in theirs.text
    assert "#1f4e79" not in theirs.text


@pytest.mark.django_db
def test_theme_applies_to_portal_and_workspace_and_changes_bust_the_cache(
        client, organisation, administrator):
    portal_link = _theme_link(client.get("/"))
    client.force_login(administrator)
    assert _theme_link(client.get("/agent/")) == portal_link
    organisation.primary_colour = "#1f4e79"
    organisation.save()
    new_link = _theme_link(client.get("/agent/"))
    assert new_link != portal_link  # the version in the query string follows updated_at
    assert "--colour-primary: #1f4e79;" in client.get(new_link).text


@pytest.mark.django_db
def test_text_on_a_theme_colour_stays_readable(client, organisation):
    # A colour set before the contrast check (or in the technical admin) gets dark text.
    organisation.primary_colour = "#ffcc00"
    organisation.save()
    css = client.get("/theme.css").text
    assert "--colour-primary-contrast: #161616;" in css
    assert readable_text_on("#000091") == "#ffffff"
    assert round(contrast_ratio("#000091", "#ffffff"), 1) == 14.9


@pytest.mark.django_db
def test_header_shows_the_logo_of_the_host_organisation_only(client, organisation,
                                                              other_organisation):
    from mairie.core.files.models import StoredFile

    logo = StoredFile.objects.create(organisation=organisation, purpose="logo",
                                     original_name="logo.png", content_type="image/png",
                                     size=1, sha256="0" * 64, file="x", is_public=True)
    organisation.logo = logo
    organisation.save()
    assert f'src="/fichiers/{logo.pk}/"' in client.get("/").text
    assert str(logo.pk) not in client.get("/", HTTP_HOST="autre.localhost").text
