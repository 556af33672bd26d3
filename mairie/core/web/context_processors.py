"""What every page of the shell needs: the organisation, its theme, the user's abilities."""

from mairie.core.notifications.queries import unread_count_for
from mairie.core.organisation.rules import organisation_abilities


def shell(request):
    org = getattr(request, "organisation", None)
    user = getattr(request, "user", None)
    abilities = {}
    unread = 0
    if org is not None and user is not None and user.is_authenticated:
        abilities = organisation_abilities(user, org)
        unread = unread_count_for(user, org)
    return {"organisation": org, "org_abilities": abilities, "unread_notifications": unread}
