"""Signals the accounts module sends, for other apps to react to."""

from django.dispatch import Signal

# Sent inside `services.delete_account`'s transaction, before the account is anonymised, so
# that an app holding personal data of its own (not tied by a cascading foreign key) can erase
# it. Arguments: user, request (may be None).
account_deleted = Signal()
