"""Reactions of the GRC to other apps' events (signals)."""

from allauth.account import signals as account_signals
from django.dispatch import receiver

from . import services


@receiver(account_signals.email_confirmed)
def _link_record(sender, request, email_address, **kwargs):
    services.link_record_on_verified_email(email_address.user, email_address.email)
