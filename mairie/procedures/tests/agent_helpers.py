"""Submitted dossiers for the agents' pages, written straight to the database (the filing path
itself is tested in test_filing_views.py)."""

from datetime import timedelta

from django.utils import timezone

from mairie.procedures.models import Dossier, DossierEvent
from mairie.procedures.services import update_search_text

ANSWERS = {"nom": "Martin", "age": 42, "situation": "couple", "conjoint": "Durand",
           "courriel": "m@example.org"}


def file_dossier(procedure, applicant=None, *, number, state="depose", data=None,
                 minutes_ago=0, email="", indexed=True):
    submitted_at = timezone.now() - timedelta(minutes=minutes_ago)
    dossier = Dossier.objects.create(
        organisation=procedure.organisation, version=procedure.current_version, number=number,
        applicant=applicant, applicant_email=email or getattr(applicant, "email", ""),
        data=dict(ANSWERS if data is None else data), state=state, submitted_at=submitted_at)
    DossierEvent.objects.create(organisation=procedure.organisation, dossier=dossier,
                                kind="submitted", actor=applicant, at=submitted_at)
    if indexed:
        update_search_text(dossier)  # as submitting does: what the inbox's search reads
    return dossier
