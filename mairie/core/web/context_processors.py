"""What every page of the shell needs: the organisation, its theme, the user's abilities."""

from mairie.core.organisation.rules import organisation_abilities


def shell(request):
    org = getattr(request, "organisation", None)
    user = getattr(request, "user", None)
    abilities = {}
    unread = 0
    if org is not None and user is not None and user.is_authenticated:
        abilities = organisation_abilities(user, org)
        unread = user.notifications.filter(read_at__isnull=True).count()
    return {"organisation": org, "org_abilities": abilities, "unread_notifications": unread}
