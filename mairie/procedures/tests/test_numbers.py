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
