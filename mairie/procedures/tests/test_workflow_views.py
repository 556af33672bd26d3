"""The workflow on the pages: buttons on the agent's dossier page, the transition page (errors
keep what was typed, a stale page applies nothing), the applicant's withdrawal, and who may
download a generated document (agents, the applicant, the tracking link) — every read
audited; everyone else gets a 404."""

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.procedures import workflow
from mairie.procedures.models import DossierDocument

from .workflow_helpers import Chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(organisation, service, administrator):
    return Chain(organisation, service, administrator)


def dossier_url(dossier):
    return reverse("procedures:agent-dossier", args=[dossier.pk])


def step_url(dossier, key):
    return reverse("procedures:agent-transition", args=[dossier.pk, key])


def post_step(client, dossier, key, data=None, lock_version=None):
    dossier.refresh_from_db()
    payload = {"lock_version": dossier.lock_version if lock_version is None else lock_version,
               **(data or {})}
    return client.post(step_url(dossier, key), payload)


def signed_letter(chain: Chain, resident):
    """A dossier taken through the whole chain, with its letter and internal note."""
    dossier = chain.dossier(resident)
    for actor, key, values in ((chain.instructor, "prendre", {}),
                               (chain.instructor, "proposer", {"comment": "Complet"}),
                               (chain.head, "valider-chef", {"comment": "OK"}),
                               (chain.dgs, "valider-dgs", {}),
                               (chain.mayor, "signer", {})):
        dossier.refresh_from_db()
        workflow.apply_transition(actor=actor, dossier=dossier, key=key, values=values,
                                  lock_version=dossier.lock_version)
    return (dossier, DossierDocument.objects.get(dossier=dossier, template_key="lettre_decision"),
            DossierDocument.objects.get(dossier=dossier, template_key="note_interne"))


def test_the_dossier_page_shows_the_buttons_of_the_agent(client, chain, resident):
    dossier = chain.dossier(resident)
    client.force_login(chain.instructor)
    content = client.get(dossier_url(dossier)).content.decode()
    assert "Circuit de traitement" in content
    assert f'action="{step_url(dossier, "prendre")}"' in content
    assert 'name="lock_version" value="0"' in content
    # a transition that asks for a motivation has its own page
    assert f'href="{step_url(dossier, "refuser")}">Refuser…</a>' in content
    assert "Retirer ma demande" not in content  # the applicant's


def test_a_failing_guard_shows_a_disabled_button_with_the_reason(client, chain, resident):
    dossier = chain.dossier(resident, state="instruction",
                            data={"nom": "Petit", "age": 12, "situation": "seul"})
    client.force_login(chain.instructor)
    content = client.get(dossier_url(dossier)).content.decode()
    assert ('disabled aria-describedby="raison-proposer">Proposer l&#x27;accord</button>'
            in content)
    assert "Réservé aux demandeurs majeurs." in content


def test_a_plain_button_moves_the_dossier(client, chain, resident):
    dossier = chain.dossier(resident)
    client.force_login(chain.instructor)
    response = post_step(client, dossier, "prendre")
    assert response.status_code == 302 and response["Location"] == dossier_url(dossier)
    dossier.refresh_from_db()
    assert dossier.state == "instruction"
    page = client.get(dossier_url(dossier)).content.decode()
    assert "« Prendre en charge » : c&#x27;est fait." in page
    history = client.get(reverse("procedures:agent-dossier-tab",
                                 args=[dossier.pk, "historique"])).content.decode()
    assert "Prendre en charge : le dossier est maintenant « En instruction »" in history


def test_missing_motivation_is_explained_and_the_input_kept(client, chain, resident):
    dossier = chain.dossier(resident, state="validation_chef")
    client.force_login(chain.head)
    page = client.get(step_url(dossier, "valider-chef"))
    assert page.status_code == 200
    assert "Commentaire" in page.content.decode()

    response = post_step(client, dossier, "renvoyer-chef", {"motivation": ""})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Le formulaire contient des erreurs" in content
    assert "« Motivation » est obligatoire pour franchir cette étape." in content

    # a correction request with a message but no field: the message stays as typed
    dossier2 = chain.dossier(resident, number="2026-000050", state="instruction")
    client.force_login(chain.instructor)
    response = post_step(client, dossier2, "demander-pieces",
                         {"correction_message": "Joignez l'avis d'imposition"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Cochez au moins une réponse à corriger." in content
    assert "Joignez l&#x27;avis d&#x27;imposition</textarea>" in content
    dossier2.refresh_from_db()
    assert dossier2.state == "instruction"


def test_a_stale_page_applies_nothing_and_says_so(client, chain, resident):
    dossier = chain.dossier(resident)
    client.force_login(chain.instructor)
    post_step(client, dossier, "prendre")  # lock version 0 → 1
    response = post_step(client, dossier, "refuser", {"motivation": "Trop tard"},
                         lock_version=0)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Ce dossier a été modifié par un autre agent" in content
    assert "En instruction" in content  # the fresh state
    assert "Trop tard</textarea>" in content  # what was typed
    assert 'name="lock_version" value="1"' in content
    dossier.refresh_from_db()
    assert dossier.state == "instruction"

    response = post_step(client, dossier, "prendre", lock_version=0)  # plain button
    assert response.status_code == 302
    page = client.get(dossier_url(dossier)).content.decode()
    assert "Ce dossier a été modifié par un autre agent" in page


def test_other_agents_get_a_404_or_a_refusal(client, chain, resident, other_service,
                                             foreign_agent):
    dossier = chain.dossier(resident)
    stranger = agent_factory(service=other_service)
    client.force_login(stranger)
    assert post_step(client, dossier, "prendre").status_code == 404
    assert client.get(step_url(dossier, "refuser")).status_code == 404
    client.force_login(foreign_agent)
    assert client.post(step_url(dossier, "prendre"), {"lock_version": 0},
                       HTTP_HOST="autre.localhost").status_code == 404
    assert post_step(client, dossier, "prendre").status_code == 302  # not signed in here
    # the DGS may read every dossier but does not play the instructor's role
    client.force_login(chain.dgs)
    assert post_step(client, dossier, "prendre").status_code == 403
    client.force_login(resident)
    assert post_step(client, dossier, "prendre").status_code == 403  # not an agent
    dossier.refresh_from_db()
    assert dossier.state == "depose" and dossier.lock_version == 0


def test_the_applicant_withdraws_from_a_confirmation_page(client, chain, resident):
    dossier = chain.dossier(resident)
    client.force_login(resident)
    context = workflow.applicant_context(type("R", (), {"user": resident})(), dossier)
    assert [a.key for a in context["applicant_transitions"]] == ["retirer"]
    url = reverse("procedures:applicant-transition", args=[dossier.pk, "retirer"])
    page = client.get(url)
    assert page.status_code == 200
    assert "Confirmer" in page.content.decode()
    response = client.post(url, {"lock_version": 0, "comment": "Plus besoin"})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == "retire"
    assert "Retiré" in client.get(response["Location"]).content.decode()


def test_only_the_applicant_may_withdraw(client, chain, resident, other_resident):
    dossier = chain.dossier(resident)
    url = reverse("procedures:applicant-transition", args=[dossier.pk, "retirer"])
    client.force_login(other_resident)
    assert client.post(url, {"lock_version": 0}).status_code == 404
    client.force_login(chain.instructor)
    assert client.post(url, {"lock_version": 0}).status_code == 404
    client.force_login(resident)  # an agent's transition through the applicant's URL
    other = reverse("procedures:applicant-transition", args=[dossier.pk, "prendre"])
    assert client.post(other, {"lock_version": 0}).status_code == 404
    dossier.refresh_from_db()
    assert dossier.state == "depose"


def test_agents_and_the_applicant_download_the_letter(client, chain, resident):
    dossier, letter, note = signed_letter(chain, resident)
    url = reverse("procedures:document", args=[letter.pk])
    client.force_login(chain.instructor)
    assert "Lettre de décision" in client.get(dossier_url(dossier)).content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert client.get(reverse("procedures:document", args=[note.pk])).status_code == 200

    client.force_login(resident)
    assert client.get(url).status_code == 200
    assert client.get(reverse("procedures:document", args=[note.pk])).status_code == 404
    page = client.get(reverse("procedures:dossier", args=[dossier.pk])).content.decode()
    assert f'href="{url}">Lettre de décision</a>' in page
    assert "Note interne" not in page

    reads = AuditEvent.objects.filter(action="procedures.document_read",
                                      object_id=str(dossier.pk))
    assert [e.details["via"] for e in reads.order_by("created_at")] == [
        "agent", "agent", "applicant"]


def test_others_cannot_download_a_document(client, chain, resident, other_resident,
                                           other_service, foreign_agent):
    _dossier, letter, _note = signed_letter(chain, resident)
    url = reverse("procedures:document", args=[letter.pk])
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response["Location"]
    for user in (other_resident, agent_factory(service=other_service)):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(foreign_agent)
    assert client.get(url, HTTP_HOST="autre.localhost").status_code == 404
    assert client.get(url).status_code == 302  # not signed in on this organisation's host
    assert not AuditEvent.objects.filter(action="procedures.document_read").exists()


def test_the_tracking_link_gives_the_visible_documents(client, chain):
    dossier = chain.dossier(None, email="anonyme@example.org")
    for actor, key, values in ((chain.instructor, "refuser", {"motivation": "Incomplet"}),):
        workflow.apply_transition(actor=actor, dossier=dossier, key=key, values=values,
                                  lock_version=0)
    letter = DossierDocument.objects.get(dossier=dossier)
    page = client.get(reverse("procedures:tracking", args=[dossier.tracking_code]))
    content = page.content.decode()
    tracked = reverse("procedures:tracked-document", args=[dossier.tracking_code, letter.pk])
    assert f'href="{tracked}">Lettre de refus</a>' in content
    response = client.get(tracked)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    read = AuditEvent.objects.get(action="procedures.document_read")
    assert read.details["via"] == "tracking" and read.actor is None
    # a wrong code, or a document of another dossier, is a 404
    assert client.get(reverse("procedures:tracked-document",
                              args=["mauvais-code", letter.pk])).status_code == 404
    other = chain.dossier(None, number="2026-000099", email="autre@example.org")
    assert client.get(reverse("procedures:tracked-document",
                              args=[other.tracking_code, letter.pk])).status_code == 404
    assert client.get(reverse("procedures:document", args=[letter.pk])).status_code == 302


def test_a_hidden_document_is_not_given_through_the_tracking_link(client, chain):
    dossier = chain.dossier(None, email="anonyme@example.org", state="signature")
    workflow.apply_transition(actor=chain.mayor, dossier=dossier, key="signer", values={},
                              lock_version=0)
    note = DossierDocument.objects.get(dossier=dossier, template_key="note_interne")
    url = reverse("procedures:tracked-document", args=[dossier.tracking_code, note.pk])
    assert client.get(url).status_code == 404


def test_the_dossier_page_query_count_does_not_grow_with_the_chain(
        client, chain, resident, django_assert_max_num_queries):
    dossier, _letter, _note = signed_letter(chain, resident)
    client.force_login(chain.instructor)
    with django_assert_max_num_queries(60):
        response = client.get(dossier_url(dossier))
    content = response.content.decode()
    for name in ("Inès Tructrice", "Charles Chef", "Denise Générale", "Marc Maire",
                 "Le maire", "Complet"):
        assert name in content
