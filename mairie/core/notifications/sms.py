"""Sending a text message: one function, `send_sms()`, and the gateway `SMS_URL` names.

- `console://` prints the text on the server's output (demo and development, as the console
  e-mail backend does);
- `smpp://system_id:password@host:port?sender=VALMONT` hands it to an SMS centre or an
  aggregator over SMPP 3.4 (`smpp.py`), the protocol every French operator and aggregator
  offers, so that a collectivité is not tied to one vendor's HTTP API (decision 0471).

Numbers are checked and written in international form with `phonenumbers`, from the
collectivité's country when they are typed in national form (« 06 12 34 56 78 »)."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import phonenumbers
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .smpp import SmppError, SmppTransmitter, SubmitSm

logger = logging.getLogger("mairie.sms")


class SmsError(Exception):
    """The text could not be sent: a number no phone has, or a gateway that refused."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str, sender: str) -> str:
        """Send `text` to `to` (E.164 digits without "+"); returns the gateway's message id."""
        ...


@dataclass
class ConsoleGateway:
    def send(self, *, to: str, text: str, sender: str) -> str:
        sys.stdout.write(f"--- SMS from {sender} to +{to}\n{text}\n---\n")
        sys.stdout.flush()
        return "console"


@dataclass
class SmppGateway:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    sender: str | None = None

    def send(self, *, to: str, text: str, sender: str) -> str:
        message = SubmitSm(source=self.sender or sender, destination=to, text=text)
        if message.source.isdigit():
            message.source_ton, message.source_npi = 1, 1
        try:
            with SmppTransmitter(self.host, self.port, self.system_id, self.password,
                                 self.system_type) as smpp:
                return smpp.submit(message)
        except SmppError as exc:
            raise SmsError(str(exc)) from exc


def gateway_from_url(url: str) -> SmsGateway:
    parts = urlsplit(url)
    if parts.scheme == "console":
        return ConsoleGateway()
    if parts.scheme == "smpp":
        query = parse_qs(parts.query)
        return SmppGateway(host=parts.hostname or "127.0.0.1", port=parts.port or 2775,
                           system_id=unquote(parts.username or ""),
                           password=unquote(parts.password or ""),
                           system_type=query.get("system_type", [""])[0],
                           sender=query.get("sender", [None])[0])
    raise ImproperlyConfigured(f"SMS_URL: unknown scheme {parts.scheme!r} "
                               "(console:// or smpp://user:password@host:port)")


def international_number(number: str, country: str = "FR") -> str:
    """« 06 12 34 56 78 » → "33612345678"; SmsError for a number that cannot get a text."""
    try:
        parsed = phonenumbers.parse(number, country or "FR")
    except phonenumbers.NumberParseException as exc:
        raise SmsError(f"not a phone number: {number!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise SmsError(f"not a valid phone number: {number!r}")
    kind = phonenumbers.number_type(parsed)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise SmsError(f"not a mobile number: {number!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def may_receive_sms(number: str, country: str = "FR") -> bool:
    try:
        international_number(number, country)
    except SmsError:
        return False
    return True


def send_sms(*, to: str, text: str, country: str = "FR", sender: str | None = None) -> str:
    """Send one text now; SmsError says why it could not leave. The number never goes to the
    log in full (the last four digits only)."""
    destination = international_number(to, country)
    message_id = gateway_from_url(settings.MAIRIE_SMS_URL).send(
        to=destination, text=text, sender=sender or settings.MAIRIE_SMS_SENDER)
    logger.info("SMS sent to …%s (id %s)", destination[-4:], message_id)
    return message_id
