"""SMS over SMPP 3.4, against a local SMS centre that speaks the protocol (testing_smpp)."""

from __future__ import annotations

import socket

import pytest

from mairie.core.notifications import smpp
from mairie.core.notifications.sms import SmsError, international_number, send_sms
from mairie.core.notifications.testing_smpp import SmsCentre


@pytest.fixture
def centre():
    running = SmsCentre().start()
    yield running
    running.stop()


def test_a_text_with_accents_reaches_the_centre_whole_in_international_form(settings, centre):
    settings.MAIRIE_SMS_URL = centre.url(sender="VALMONT")
    text = "Votre rendez-vous à l'état civil : jeudi 10 h — « apportez le livret »."
    message_id = send_sms(to="06 12 34 56 78", text=text)
    assert message_id == "msg-1"
    [received] = centre.received
    assert (received.destination, received.source, received.text) == (
        "33612345678", "VALMONT", text)
    assert received.dest_ton == 1  # international


def test_a_long_text_goes_whole_in_the_message_payload(settings, centre):
    settings.MAIRIE_SMS_URL = centre.url()
    text = "Mairie de Valmont. " * 20  # 380 characters: more than one SMS
    send_sms(to="+33 7 81 23 45 67", text=text, sender="VALMONT")
    assert centre.received[0].text == text
    assert centre.received[0].source == "VALMONT"


def test_a_wrong_password_and_a_refusal_say_why(settings, centre):
    settings.MAIRIE_SMS_URL = centre.url().replace(":secret@", ":wrong@")
    with pytest.raises(SmsError, match="invalid password"):
        send_sms(to="0612345678", text="Bonjour")
    settings.MAIRIE_SMS_URL = centre.url()
    centre.refuse_with = 0x58
    with pytest.raises(SmsError, match="throttled"):
        send_sms(to="0612345678", text="Bonjour")
    assert centre.received == []


def test_an_unreachable_centre_is_a_clear_error(settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.MAIRIE_SMS_URL = f"smpp://mairie:secret@127.0.0.1:{port}"
    with pytest.raises(SmsError, match="unreachable"):
        send_sms(to="0612345678", text="Bonjour")


@pytest.mark.parametrize("number, country, expected", [
    ("06 12 34 56 78", "FR", "33612345678"),
    ("+41 79 123 45 67", "FR", "41791234567"),
    ("079 123 45 67", "CH", "41791234567"),
    ("0470 12 34 56", "BE", "32470123456"),
])
def test_numbers_are_written_in_international_form_from_the_country(number, country,
                                                                      expected):
    assert international_number(number, country) == expected


@pytest.mark.parametrize("number", ["01 23 45 67 89", "12", "pas un numéro", ""])
def test_a_landline_or_a_non_number_cannot_get_a_text(number):
    with pytest.raises(SmsError):
        international_number(number, "FR")


def test_submit_sm_round_trips_through_the_wire_format():
    message = smpp.SubmitSm(source="MAIRIE", destination="33612345678", text="Élise, ça va ?")
    parsed = smpp.SubmitSm.parse(message.body())
    assert (parsed.source, parsed.destination, parsed.text) == (
        "MAIRIE", "33612345678", "Élise, ça va ?")
    assert smpp.encode_text("plain")[0] == 0 and smpp.encode_text("é")[0] == 8
