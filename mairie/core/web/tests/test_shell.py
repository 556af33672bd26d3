"""The shell around every page: landmarks, skip links, language, error pages, and the promise
that no page loads anything from another site nor carries inline script or style."""

import html
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from mairie.core.organisation.models import Membership


class PageScan(HTMLParser):
    """Collects what a page refers to and the accessibility landmarks it declares."""

    URL_ATTRIBUTES = {"src", "href", "action", "srcset", "poster", "formaction", "data"}

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: list[tuple[str, dict]] = []
        self.inline_scripts = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        for name, value in attrs:
            if name in self.URL_ATTRIBUTES and value:
                self.urls.append((tag, name, value))
        # A JSON data block (json_script) is data, not code: CSP does not execute it.
        self._in_script_without_src = (tag == "script" and "src" not in attributes
                                       and attributes.get("type") != "application/json")

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False

    def having(self, tag, **attributes):
        return [a for t, a in self.tags
                if t == tag and all(a.get(k) == v for k, v in attributes.items())]


def scan(response) -> PageScan:
    parser = PageScan()
    parser.feed(response.content.decode())
    return parser


def third_party_references(page: PageScan, host: str, allowed_links: set[str]):
    """References to another host; plain <a> links the collectivité configured are fine."""
    found = []
    for tag, attribute, value in page.urls:
        for url in (value.split(",") if attribute == "srcset" else [value]):
            url = url.strip().split(" ")[0]
            parts = urlsplit(url)
            if parts.scheme in ("mailto", "tel", "") and not url.startswith("//"):
                continue
            if parts.hostname == host:
                continue
            if tag == "a" and attribute == "href" and url in allowed_links:
                continue
            found.append((tag, attribute, url))
    return found


def _login(client, user):
    client.force_login(user)
    return client


def _portal_urls():
    return ["/", "/accessibilite/", "/donnees-personnelles/", "/mentions-legales/",
            "/mon-compte/", "/comptes/login/", "/comptes/signup/", "/une-page-absente/"]


def _agent_urls(service, membership):
    return ["/agent/", "/agent/organisation/", "/agent/parametres/",
            "/agent/organisation/services/nouveau/",
            f"/agent/organisation/services/{service.pk}/",
            f"/agent/organisation/services/{service.pk}/modifier/",
            f"/agent/organisation/services/{service.pk}/supprimer/",
            f"/agent/organisation/services/{service.pk}/ajouter-un-agent/",
            f"/agent/organisation/affectations/{membership.pk}/role/",
            f"/agent/organisation/affectations/{membership.pk}/retirer/"]


@pytest.mark.django_db
def test_no_page_of_the_shell_refers_to_another_site_or_inlines_code(
        client, organisation, administrator, agent, service):
    organisation.website = "https://www.valmont.example"
    organisation.save()
    membership = Membership.objects.get(user=agent)
    pages = [(url, client.get(url)) for url in ["/", "/accessibilite/",
                                                "/donnees-personnelles/", "/mentions-legales/",
                                                "/comptes/login/", "/comptes/signup/",
                                                "/une-page-absente/"]]
    _login(client, administrator)
    pages += [(url, client.get(url)) for url in ["/mon-compte/",
                                                *_agent_urls(service, membership)]]
    for url, response in pages:
        assert response.status_code in (200, 404), url
        page = scan(response)
        assert third_party_references(page, "testserver", {organisation.website}) == [], url
        assert page.inline_scripts == 0, url
        assert not page.having("style"), url
        assert not [a for _, a in page.tags if "style" in a], url
        assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)], url
    # The collectivité's own website is linked, as a plain outbound link.
    assert 'href="https://www.valmont.example"' in pages[0][1].text


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "resident", "administrator"])
def test_pages_have_lang_landmarks_and_skip_links(client, organisation, resident,
                                                  administrator, service, who):
    if who != "anonymous":
        _login(client, resident if who == "resident" else administrator)
    urls = ["/", "/accessibilite/"]
    if who == "resident":
        urls.append("/mon-compte/")
    if who == "administrator":
        urls += ["/agent/", "/agent/organisation/", "/agent/parametres/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = scan(response)
        assert page.having("html", lang="fr"), url
        assert len(page.having("main", id="contenu")) == 1, url
        assert len(page.having("header")) == 1 and len(page.having("footer")) == 1, url
        assert page.having("nav", id="navigation"), url
        assert page.having("meta", name="viewport"), url
        skip_targets = [a["href"] for a in page.having("a") if a.get("href", "").startswith("#")]
        assert skip_targets[:2] == ["#contenu", "#navigation"], url
        assert len(page.having("h1")) == 1, url


@pytest.mark.django_db
def test_the_current_page_is_marked_in_the_menu(client, administrator):
    response = _login(client, administrator).get("/agent/parametres/")
    current = [a for a in scan(response).having("a") if a.get("aria-current") == "page"]
    assert [a["href"] for a in current] == ["/agent/parametres/"]


@pytest.mark.django_db
def test_not_found_page_is_in_the_shell_and_helpful(client, organisation):
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    text = html.unescape(response.text)
    assert "<h1>Page introuvable</h1>" in text
    assert organisation.name in text  # shell header
    assert "Revenir à l'accueil" in text
    assert organisation.email in text


@pytest.mark.django_db
def test_forbidden_page_explains_what_to_do(client, resident):
    response = _login(client, resident).get("/agent/")
    assert response.status_code == 403
    text = html.unescape(response.text)
    assert "<h1>Accès refusé</h1>" in text
    assert "demandez à un administrateur de votre collectivité" in text
    assert resident.email in text


def test_server_error_page_renders_without_any_context():
    # Django renders 500.html with an empty context: no request, no organisation, no database.
    page = render_to_string("500.html")
    assert '<html lang="fr">' in page
    assert "Le service rencontre un problème" in html.unescape(page)
    assert 'href="/"' in page


@pytest.mark.django_db
def test_server_error_handler_uses_the_shell_template(client, organisation, settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    client.raise_request_exception = False
    from django.urls import path

    def broken(request):
        raise RuntimeError("boom")

    urlconf = type("urlconf", (), {"urlpatterns": [path("casse/", broken)]})
    settings.ROOT_URLCONF = urlconf
    response = client.get("/casse/")
    assert response.status_code == 500
    assert "Le service rencontre un problème" in html.unescape(response.text)


@pytest.mark.django_db
def test_language_switch_works_without_javascript(client, organisation):
    home = client.get("/")
    form = [f for f in scan(home).having("form") if f.get("action") == reverse("set_language")]
    assert form and form[0]["method"] == "post"
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"},
                           follow=True)
    assert response.status_code == 200
    page = scan(response)
    assert page.having("html", lang="en")
    text = html.unescape(response.text)
    assert "Skip to content" in text
    assert "Welcome to your online services" in text
    assert "Bienvenue" not in text
    # …and back to French.
    response = client.post(reverse("set_language"), {"language": "fr", "next": "/"},
                           follow=True)
    assert "Aller au contenu" in response.text


@pytest.mark.django_db
def test_agent_home_shows_roles_notifications_and_upcoming_modules(client, administrator,
                                                                   service, organisation):
    from mairie.core.notifications.services import notify

    response = _login(client, administrator).get("/agent/")
    text = html.unescape(response.text)
    assert f"{service.name}</strong> — Administrateur" in text
    assert "Aucune notification pour le moment." in text
    assert "Vos outils arrivent ici" in text
    assert "Paramètres, mentions légales et apparence" in text
    notify(organisation=organisation, recipients=[administrator],
           kind="system.announcement", title="Fermeture exceptionnelle lundi")
    response = client.get("/agent/")
    assert "Fermeture exceptionnelle lundi" in response.text


@pytest.mark.django_db
def test_my_account_lists_roles_for_agents_only(client, agent, resident, service):
    response = _login(client, agent).get("/mon-compte/")
    assert service.name in response.text
    assert "Aller à l'espace agent" in html.unescape(response.text)
    response = _login(client, resident).get("/mon-compte/")
    assert response.status_code == 200
    assert "espace agent" not in response.text


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["resident", "agent"])
def test_every_link_of_my_account_page_works(client, resident, agent, who):
    _login(client, resident if who == "resident" else agent)
    page = scan(client.get("/mon-compte/"))
    main_links = [a["href"] for a in page.having("a")
                  if a.get("href", "").startswith("/") and not a.get("href") == "/"]
    assert "/mon-compte/supprimer/" in main_links
    for href in main_links:
        assert client.get(href).status_code == 200, href
