"""The interactive documentation: self-hosted assets, and the site-wide CSP left intact."""

import re

import pytest

pytestmark = pytest.mark.django_db
URL = "/api/v1/docs/"
ATTRIBUTE_URL = re.compile(r'(?:src|href)="([^"]*)"')


def test_the_docs_page_keeps_the_site_wide_content_security_policy(client, organisation):
    response = client.get(URL)
    assert response.status_code == 200
    site_policy = client.get("/")["Content-Security-Policy"]
    assert response["Content-Security-Policy"] == site_policy
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_the_docs_page_has_no_inline_code_and_no_third_party_url(client, organisation):
    html = client.get(URL).content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # every script is a file
    assert "<style" not in html and " style=" not in html
    urls = ATTRIBUTE_URL.findall(html)
    assert urls, "the page links its assets"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in urls
    assert f"{URL}?script=" in urls


def test_the_init_script_is_served_as_a_file_pointing_at_our_schema(client, organisation):
    response = client.get(URL + "?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    script = response.content.decode()
    assert '"/api/v1/schema/"' in script
    assert '"validatorUrl": null' in script  # no call to the public Swagger validator
    assert not re.search(r"https?://", script)


@pytest.mark.parametrize("asset", [
    "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
    "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
    "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
    "api/docs.css",
])
def test_the_assets_are_installed_with_the_application(asset):
    from django.contrib.staticfiles import finders

    assert finders.find(asset), asset
