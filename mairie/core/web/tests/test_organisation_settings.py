"""The organisation settings page: permissions, audit, colour contrast, concurrent edits, logo."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import MembershipFactory, UserFactory, enrol_totp
from mairie.core.files.testing import png_bytes
from mairie.core.organisation.models import Role
from mairie.core.tenancy.models import Organisation

URL = "/agent/parametres/"
FOREIGN = {"HTTP_HOST": "autre.localhost"}


def _login(client, user):
    client.force_login(user)
    return client


def _form_data(org: Organisation, **overrides) -> dict:
    data = {
        "version": org.updated_at.isoformat(),
        "name": org.name, "address": org.address, "phone": org.phone, "email": org.email,
        "website": org.website, "siret": org.siret,
        "legal_representative": org.legal_representative, "dpo_name": org.dpo_name,
        "dpo_email": org.dpo_email, "host_name": org.host_name,
        "accessibility_status": org.accessibility_status,
        "accessibility_audit_date": "", "accessibility_rate": "",
        "personal_data_retention_months": org.personal_data_retention_months,
        "time_zone": org.time_zone, "primary_colour": org.primary_colour,
        "secondary_colour": org.secondary_colour,
    }
    data.update(overrides)
    return data


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
class TestPermissions:
    def test_anonymous_is_sent_to_login(self, client, organisation):
        response = client.get(URL)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]

    def test_resident_and_plain_agent_are_refused(self, client, resident, agent, organisation):
        assert _login(client, resident).get(URL).status_code == 403
        assert _login(client, agent).get(URL).status_code == 403
        response = client.post(URL, _form_data(organisation, name="Pirate"))
        assert response.status_code == 403
        organisation.refresh_from_db()
        assert organisation.name == "Commune de Valmont-Test"

    def test_administrator_of_another_organisation_edits_only_their_own(
            self, client, foreign_agent, organisation, other_organisation):
        _login(client, foreign_agent)
        page = client.get(URL, **FOREIGN)
        assert page.status_code == 200
        assert "Commune d&#x27;Ailleurs" in page.text
        assert "Valmont" not in page.text
        response = client.post(URL, _form_data(other_organisation, name="Ailleurs-sur-Mer"),
                               **FOREIGN)
        assert response.status_code == 302
        organisation.refresh_from_db()
        other_organisation.refresh_from_db()
        assert organisation.name == "Commune de Valmont-Test"
        assert other_organisation.name == "Ailleurs-sur-Mer"

    def test_administrator_session_is_worthless_on_another_host(self, client, administrator,
                                                                other_organisation):
        response = _login(client, administrator).post(
            URL, _form_data(other_organisation, name="Pirate"), **FOREIGN)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]
        other_organisation.refresh_from_db()
        assert other_organisation.name == "Commune d'Ailleurs"


@pytest.mark.django_db
class TestEditing:
    def test_form_shows_current_values_grouped_in_fieldsets(self, client, administrator):
        page = _login(client, administrator).get(URL)
        assert page.status_code == 200
        assert "<legend>Apparence</legend>" in page.text
        assert 'value="#000091"' in page.text
        assert 'name="version"' in page.text

    def test_saving_changes_is_audited_with_the_changed_fields(self, client, administrator,
                                                               organisation):
        response = _login(client, administrator).post(URL, _form_data(
            organisation, name="Ville de Valmont", dpo_email="dpo@valmont.example",
            accessibility_status="full", accessibility_rate="100",
            accessibility_audit_date="2025-03-01", time_zone="America/Martinique",
            primary_colour="#1F4E79"))
        assert response.status_code == 302
        organisation.refresh_from_db()
        assert organisation.name == "Ville de Valmont"
        assert organisation.time_zone == "America/Martinique"
        assert organisation.primary_colour == "#1f4e79"
        event = AuditEvent.objects.get(action="tenancy.settings_changed")
        assert event.actor == administrator
        assert set(event.details["changed"]) == {
            "name", "dpo_email", "accessibility_status", "accessibility_rate",
            "accessibility_audit_date", "time_zone", "primary_colour"}
        assert event.details["before"]["name"] == "Commune de Valmont-Test"
        assert event.details["after"]["accessibility_audit_date"] == "2025-03-01"
        # The legal pages show the new values.
        legal = client.get(reverse("web:accessibility")).text
        assert "totalement conforme" in legal and "100 %" in legal

    def test_submitting_without_change_writes_nothing(self, client, administrator,
                                                      organisation):
        response = _login(client, administrator).post(URL, _form_data(organisation),
                                                      follow=True)
        assert "Aucune modification" in response.text
        assert not AuditEvent.objects.filter(action="tenancy.settings_changed").exists()

    @pytest.mark.parametrize("colour", ["#ffcc00", "#7fb2ff", "#e1000f80", "blue", "#12345"])
    def test_bad_colours_are_refused(self, client, administrator, organisation, colour):
        response = _login(client, administrator).post(URL, _form_data(
            organisation, primary_colour=colour))
        assert response.status_code == 200
        assert response.context["form"].errors["primary_colour"]
        organisation.refresh_from_db()
        assert organisation.primary_colour == "#000091"

    def test_low_contrast_message_explains_the_rule(self, client, administrator, organisation):
        response = _login(client, administrator).post(URL, _form_data(
            organisation, primary_colour="#ffcc00", secondary_colour="#e1000f"))
        text = html.unescape(response.text)
        assert "Le contraste entre #ffcc00 et le blanc est de 1," in text
        assert "4,5:1" in text
        assert 'href="#id_primary_colour"' in response.text  # in the error summary

    def test_invalid_values_keep_the_header_unchanged(self, client, administrator,
                                                      organisation):
        response = _login(client, administrator).post(URL, _form_data(
            organisation, name="Nom en cours de saisie", accessibility_rate="140"))
        assert response.status_code == 200
        assert response.context["form"].errors["accessibility_rate"]
        assert '<span class="brand-name">Commune de Valmont-Test</span>' in response.text

    def test_website_must_be_https(self, client, administrator, organisation):
        response = _login(client, administrator).post(URL, _form_data(
            organisation, website="http://valmont.example"))
        assert response.context["form"].errors["website"]


@pytest.mark.django_db
class TestConcurrentEdits:
    def test_second_administrator_does_not_silently_overwrite_the_first(
            self, client, administrator, service, organisation):
        other_admin = UserFactory(organisation=organisation, email="admin2@valmont.example")
        MembershipFactory(service=service, user=other_admin, role=Role.ADMINISTRATOR)
        enrol_totp(other_admin)
        from django.test import Client

        first, second = _login(client, administrator), _login(Client(), other_admin)
        # Both open the page and get the same version.
        version_1 = first.get(URL).context["form"]["version"].value()
        version_2 = second.get(URL).context["form"]["version"].value()
        assert version_1 == version_2
        organisation.refresh_from_db()
        assert first.post(URL, _form_data(organisation, phone="01 02 03 04 05",
                                          version=version_1)).status_code == 302
        response = second.post(URL, _form_data(organisation, phone="09 99 99 99 99",
                                               dpo_name="Camille Martin", version=version_2))
        assert response.status_code == 200
        text = html.unescape(response.text)
        assert "Un autre administrateur a modifié ces paramètres" in text
        # Nothing of the second edit was written; the first is intact.
        organisation.refresh_from_db()
        assert organisation.phone == "01 02 03 04 05"
        assert organisation.dpo_name == ""
        # The second administrator's input is kept, and the stored value is shown.
        assert 'value="09 99 99 99 99"' in response.text
        assert 'value="Camille Martin"' in response.text
        assert "01 02 03 04 05" in response.text.split('id="conflicts-title"')[1]
        # Saving again, knowingly, goes through.
        new_version = response.context["form"]["version"].value()
        assert new_version != version_2
        response = second.post(URL, _form_data(organisation, phone="09 99 99 99 99",
                                               dpo_name="Camille Martin", version=new_version))
        assert response.status_code == 302
        organisation.refresh_from_db()
        assert (organisation.phone, organisation.dpo_name) == ("09 99 99 99 99",
                                                                 "Camille Martin")
        assert AuditEvent.objects.filter(action="tenancy.settings_changed").count() == 2


@pytest.mark.django_db
class TestLogo:
    def test_logo_upload_is_stored_public_and_shown_in_every_header(
            self, client, administrator, organisation, media_root):
        logo = SimpleUploadedFile("blason.png", png_bytes(4, 4), content_type="image/png")
        response = _login(client, administrator).post(
            URL, {**_form_data(organisation), "logo_upload": logo})
        assert response.status_code == 302
        organisation.refresh_from_db()
        stored = organisation.logo
        assert stored is not None and stored.is_public and stored.purpose == "logo"
        event = AuditEvent.objects.get(action="tenancy.settings_changed")
        assert event.details["changed"] == ["logo_id"]
        logo_url = reverse("files:download", args=[stored.pk])
        client.logout()
        home = client.get("/")
        assert f'<img src="{logo_url}"' in home.text
        image = client.get(logo_url)
        assert image.status_code == 200
        assert image["Content-Type"] == "image/png"

    def test_a_non_image_is_refused_on_the_logo_field(self, client, administrator,
                                                      organisation, media_root):
        fake = SimpleUploadedFile("logo.png", b"MZ\x90\x00" + b"\x00" * 200,
                                  content_type="image/png")
        response = _login(client, administrator).post(
            URL, {**_form_data(organisation), "logo_upload": fake})
        assert response.status_code == 200
        assert response.context["form"].errors["logo_upload"]
        organisation.refresh_from_db()
        assert organisation.logo_id is None

    def test_logo_can_be_removed(self, client, administrator, organisation, media_root):
        logo = SimpleUploadedFile("blason.png", png_bytes(), content_type="image/png")
        _login(client, administrator).post(URL, {**_form_data(organisation),
                                                 "logo_upload": logo})
        organisation.refresh_from_db()
        assert organisation.logo_id
        client.post(URL, {**_form_data(organisation), "remove_logo": "on"})
        organisation.refresh_from_db()
        assert organisation.logo_id is None
        assert "brand-logo" not in client.get("/").text
