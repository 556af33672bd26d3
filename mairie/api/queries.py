"""Reads of personal tokens, always scoped to the request's organisation."""

from django.db.models import QuerySet

from .models import PersonalToken


def tokens_of(user, organisation) -> QuerySet[PersonalToken]:
    """The user's own tokens in `organisation` (newest first); none for anyone else."""
    if not user.is_authenticated or organisation is None or user.organisation_id != organisation.pk:
        return PersonalToken.objects.none()
    return PersonalToken.objects.filter(user=user, organisation=organisation)
