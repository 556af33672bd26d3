import datetime as dt

import pytest
from django.utils import timezone

from mairie.api.models import PersonalToken
from mairie.api.services import TokenRefused, revoke_token, user_for_token

from .conftest import in_days

pytestmark = pytest.mark.django_db


def test_a_valid_key_gives_its_user_and_token(resident, make_token):
    token, raw_key = make_token(resident)
    user, found = user_for_token(raw_key, organisation=resident.organisation)
    assert (user, found) == (resident, token)


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("unknown", "token_invalid"),
        ("revoked", "token_revoked"),
        ("expired", "token_expired"),
        ("inactive_user", "user_inactive"),
        ("moved_user", "user_inactive"),
        ("other_organisation", "token_wrong_organisation"),
    ],
)
def test_unusable_keys_are_refused_with_a_reason(resident, other_organisation, make_token,
                                                 setup, code):
    token, raw_key = make_token(resident)
    organisation = resident.organisation
    if setup == "unknown":
        raw_key = raw_key[:-4] + "AAAA"
    elif setup == "revoked":
        revoke_token(actor=resident, token=token)
    elif setup == "expired":
        PersonalToken.objects.filter(pk=token.pk).update(expires_at=in_days(-0.001))
    elif setup == "inactive_user":
        resident.is_active = False
        resident.save()
    elif setup == "moved_user":
        resident.organisation = other_organisation
        resident.save()
    elif setup == "other_organisation":
        organisation = other_organisation
    with pytest.raises(TokenRefused) as refused:
        user_for_token(raw_key, organisation=organisation)
    assert refused.value.code == code
    assert refused.value.message  # French, for the client


def test_last_use_is_written_at_most_once_a_minute(resident, make_token,
                                                   django_assert_num_queries):
    token, raw_key = make_token(resident)
    with django_assert_num_queries(2):  # read + first UPDATE of last_used_at
        user_for_token(raw_key)
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    with django_assert_num_queries(1):  # read only: used less than a minute ago
        user_for_token(raw_key)
    token.refresh_from_db()
    assert token.last_used_at == first_use
    PersonalToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - dt.timedelta(minutes=2))
    user_for_token(raw_key)
    token.refresh_from_db()
    assert token.last_used_at > first_use
