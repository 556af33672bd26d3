import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from mairie.api.models import KEY_PREFIX, PersonalToken, hash_key
from mairie.api.services import MAX_ACTIVE_TOKENS_PER_USER, create_token
from mairie.core.audit.models import AuditEvent
from mairie.core.audit.services import verify_chain

from .conftest import in_days

pytestmark = pytest.mark.django_db


def test_the_raw_key_is_returned_once_and_only_its_hash_is_stored(resident):
    token, raw_key = create_token(actor=resident, organisation=resident.organisation,
                                  name="  Tableur  ", scopes=["read"], expires_at=in_days(30))
    assert raw_key.startswith(KEY_PREFIX) and len(raw_key) >= 40
    stored = PersonalToken.objects.get(pk=token.pk)
    assert stored.key_hash == hash_key(raw_key)
    assert raw_key not in {stored.key_hash, stored.prefix, stored.name}
    assert raw_key.startswith(stored.prefix)
    assert stored.name == "Tableur"
    assert (stored.user, stored.organisation, stored.scopes) == (
        resident, resident.organisation, ["read"])
    assert stored.revoked_at is None and stored.last_used_at is None


def test_two_tokens_never_share_a_key(resident):
    keys = {create_token(actor=resident, organisation=resident.organisation, name=f"t{i}",
                         scopes=["read"])[1] for i in range(5)}
    assert len(keys) == 5


def test_the_default_lifetime_is_90_days(resident):
    token, _ = create_token(actor=resident, organisation=resident.organisation, name="t",
                            scopes=["read"])
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=90))) < dt.timedelta(
        minutes=1)


def test_creation_is_audited_without_the_key(resident):
    token, raw_key = create_token(actor=resident, organisation=resident.organisation,
                                  name="Tableur", scopes=["read", "write"])
    event = AuditEvent.objects.get(action="api.token_created")
    assert event.actor == resident
    assert event.object_id == str(token.pk)
    assert event.details["scopes"] == ["read", "write"]
    assert event.details["prefix"] == token.prefix
    assert raw_key not in str(event.details)
    assert verify_chain(resident.organisation) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["read", "everything"]}, "scopes"),
        ({"expires_at": in_days(-1)}, "expires_at"),
        ({"expires_at": in_days(367)}, "expires_at"),
    ],
)
def test_invalid_requests_are_refused_with_a_french_message(resident, kwargs, field):
    arguments = {"name": "Tableur", "scopes": ["read"], "expires_at": in_days(10), **kwargs}
    with pytest.raises(ValidationError) as error:
        create_token(actor=resident, organisation=resident.organisation, **arguments)
    assert field in error.value.message_dict
    assert not PersonalToken.objects.exists()
    assert not AuditEvent.objects.filter(action="api.token_created").exists()


def test_nobody_creates_a_token_in_another_organisation(resident, other_organisation):
    with pytest.raises(PermissionDenied):
        create_token(actor=resident, organisation=other_organisation, name="t",
                     scopes=["read"])
    assert not PersonalToken.objects.exists()


def test_an_inactive_account_cannot_create_tokens(resident):
    resident.is_active = False
    resident.save()
    with pytest.raises(PermissionDenied):
        create_token(actor=resident, organisation=resident.organisation, name="t",
                     scopes=["read"])


def test_the_number_of_active_tokens_is_bounded(resident, make_token):
    for i in range(MAX_ACTIVE_TOKENS_PER_USER):
        make_token(resident, name=f"t{i}")
    with pytest.raises(ValidationError):
        make_token(resident, name="one too many")
    assert PersonalToken.objects.filter(user=resident).count() == MAX_ACTIVE_TOKENS_PER_USER
