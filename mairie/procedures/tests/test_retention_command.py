"""`python -m mairie procedures retention [--dry-run] [--organisation SLUG]`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mairie.core.audit.models import AuditEvent
from mairie.core.files.models import StoredFile
from mairie.procedures.models import Dossier, DossierFile

from .retention_helpers import decided_dossier, make_retention_procedure, set_policy


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIRIE_CLAMD_URL = ""


@pytest.fixture
def definition(organisation, service, administrator):
    definition = make_retention_procedure(organisation, service, actor=administrator)
    set_policy(definition, months=12, mode="delete")
    return definition


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("procedures", "retention", *args, stdout=out, stderr=err)
    return out.getvalue()


def _state():
    return (Dossier.objects.count(), StoredFile.objects.count(), DossierFile.objects.count(),
            AuditEvent.objects.count())


def test_the_dry_run_lists_counts_and_numbers_and_changes_nothing(definition, resident):
    decided_dossier(definition, resident, number="2026-000001", days_ago=400)
    decided_dossier(definition, resident, number="2026-000002", days_ago=400)
    decided_dossier(definition, resident, number="2026-000003", days_ago=2)
    before = _state()

    output = _run("--dry-run")

    assert "SIMULATION  valmont-test / aide-conservation (suppression, 12 mois)" in output
    assert ("pièces d'identité à supprimer : 3 fichier(s) dans 3 dossier(s) — 2026-000001, "
            "2026-000002, 2026-000003") in output
    assert "dossiers à supprimer : 2 — 2026-000001, 2026-000002" in output
    assert _state() == before


def test_the_command_applies_the_rules_of_one_organisation(definition, resident,
                                                           other_organisation):
    decided_dossier(definition, resident, number="2026-000001", days_ago=400)

    output = _run("--organisation", "valmont-test")

    assert "dossiers supprimés : 1 — 2026-000001" in output
    assert not Dossier.objects.exists()
    assert "ailleurs" not in _run("--organisation", "ailleurs")
    assert _run("--organisation", "valmont-test").count(": 0") == 2  # nothing left to do


def test_an_unknown_organisation_is_an_error(definition):
    with pytest.raises(CommandError, match="Collectivité inconnue"):
        _run("--organisation", "nulle-part")
