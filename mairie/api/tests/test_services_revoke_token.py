import pytest
from django.core.exceptions import PermissionDenied

from mairie.api.models import PersonalToken
from mairie.api.services import revoke_token
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_owner_revokes_a_token_and_it_is_audited(resident, make_token):
    token, _ = make_token(resident)
    revoke_token(actor=resident, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.status == PersonalToken.Status.REVOKED
    event = AuditEvent.objects.get(action="api.token_revoked")
    assert (event.actor, event.object_id) == (resident, str(token.pk))


def test_revoking_twice_keeps_the_first_date_and_one_event(resident, make_token):
    token, _ = make_token(resident)
    revoke_token(actor=resident, token=token)
    token.refresh_from_db()
    first = token.revoked_at
    revoke_token(actor=resident, token=token)
    token.refresh_from_db()
    assert token.revoked_at == first
    assert AuditEvent.objects.filter(action="api.token_revoked").count() == 1


def test_an_administrator_of_the_organisation_may_cut_off_anyones_token(
        resident, administrator, make_token):
    token, _ = make_token(resident)
    revoke_token(actor=administrator, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.parametrize("who", ["other_resident", "agent", "foreign_agent"])
def test_others_cannot_revoke_a_token(request, resident, make_token, who):
    if who == "other_resident":
        actor = UserFactory(organisation=resident.organisation)
    else:
        actor = request.getfixturevalue(who)
    token, _ = make_token(resident)
    with pytest.raises(PermissionDenied):
        revoke_token(actor=actor, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEvent.objects.filter(action="api.token_revoked").exists()
