"""Who may do what with a notification: only its recipient, inside its organisation.

Nobody else — not an administrator, not a colleague — reads or marks another person's
notifications; the list is filtered in SQL by `queries.notifications_for` and the services check
these predicates again.
"""

import rules


@rules.predicate
def is_recipient(user, notification) -> bool:
    if notification is None or not getattr(user, "is_authenticated", False):
        return False
    same_org = user.organisation_id == notification.organisation_id or user.is_superuser
    return same_org and notification.recipient_id == user.pk


rules.add_perm("notifications.view_notification", is_recipient)
rules.add_perm("notifications.mark_read", is_recipient)


def abilities(user, notification) -> dict[str, bool]:
    mine = is_recipient(user, notification)
    return {"view": mine, "mark_read": mine and notification.read_at is None}
