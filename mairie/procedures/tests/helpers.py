"""Posting the filing pages as a browser would (no JavaScript)."""

from django.urls import reverse

from mairie.procedures.models import Dossier


def start(client, definition, **extra):
    response = client.post(reverse("procedures:procedure", args=[definition.slug]), **extra)
    assert response.status_code == 302, response
    dossier = Dossier.objects.filter(version__definition=definition).latest("created_at")
    return dossier, response["Location"]


def page_url(dossier, page_key):
    return reverse("procedures:page", args=[dossier.pk, page_key])


def post_page(client, dossier, page_key, data, *, action="next", lock_version=None, **extra):
    dossier.refresh_from_db()
    payload = {"lock_version": dossier.lock_version if lock_version is None else lock_version,
               "action": action, **data}
    return client.post(page_url(dossier, page_key), payload, **extra)


FIRST_PAGE = {"nom": "Martin", "age": "42", "situation": "seul"}
