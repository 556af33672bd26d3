"""Dossier numbers: human-readable, per organisation and year, never handed out twice."""

import threading

import pytest
from django.db import close_old_connections, transaction

from mairie.core.factories import OrganisationFactory
from mairie.procedures.services import allocate_number


@pytest.mark.django_db
def test_numbers_follow_each_other_per_organisation_and_year():
    first, second = OrganisationFactory(), OrganisationFactory()
    with transaction.atomic():
        assert allocate_number(first, year=2026) == "2026-000001"
        assert allocate_number(first, year=2026) == "2026-000002"
        assert allocate_number(second, year=2026) == "2026-000001"
        assert allocate_number(first, year=2027) == "2027-000001"


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_never_share_a_number():
    organisation = OrganisationFactory()
    numbers, errors = [], []

    def submit():
        try:
            for _ in range(5):
                with transaction.atomic():
                    numbers.append(allocate_number(organisation, year=2026))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [f"2026-{n:06d}" for n in range(1, 21)]


@pytest.mark.django_db(transaction=True)
def test_residents_filing_with_a_file_at_the_same_moment_all_get_their_dossier(
        organisation, service, administrator):
    """Found by bench/procedures_submission.py: submitting used to lock the organisation's
    row (a `select_for_update` over a join), so on PostgreSQL simultaneous filings deadlocked
    with every insert that references the organisation (files, audit). Now each dossier is
    filed, with its number and its file."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from mairie.core.factories import UserFactory
    from mairie.procedures.models import Dossier, DossierFile

    from .conftest import make_procedure
    from .helpers import FIRST_PAGE, post_page, start
    from .test_filing_views import PDF_BYTES

    procedure = make_procedure(organisation, service, actor=administrator)
    journeys = []
    for n in range(6):
        client = Client()
        client.force_login(UserFactory(organisation=organisation, email=f"r{n}@example.org"))
        dossier, _location = start(client, procedure)
        assert post_page(client, dossier, "identite", FIRST_PAGE).status_code == 302
        journeys.append((client, dossier))
    barrier = threading.Barrier(len(journeys))
    statuses, errors = [], []

    def finish(client, dossier):
        try:
            barrier.wait(timeout=30)
            upload = SimpleUploadedFile("justificatif.pdf", PDF_BYTES, "application/pdf")
            statuses.append(post_page(client, dossier, "contact", {
                "courriel": "r@example.org", "piece": upload}).status_code)
            statuses.append(client.post(reverse("procedures:review",
                                                args=[dossier.pk])).status_code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=finish, args=journey) for journey in journeys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert statuses == [302] * 12
    filed = Dossier.objects.filter(pk__in=[d.pk for _c, d in journeys],
                                   submitted_at__isnull=False)
    assert len({d.number for d in filed}) == 6
    assert DossierFile.objects.filter(dossier__in=filed).count() == 6
