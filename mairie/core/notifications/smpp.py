"""SMPP 3.4, the protocol SMS centres and aggregators speak to applications (ESMEs): just what
sending a text needs — bind as a transmitter, submit one short message, unbind.

A PDU is a 16-byte header (length, command id, status, sequence number) and a body of
NUL-terminated strings and single bytes in a fixed order. Texts that plain ASCII cannot carry
(accents, « », €) go as UCS-2 (data_coding 8); texts longer than one SMS go whole in the
`message_payload` option, which the centre splits, so nothing here deals with segments."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

BIND_TRANSMITTER = 0x00000002
BIND_TRANSMITTER_RESP = 0x80000002
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
GENERIC_NACK = 0x80000000

MESSAGE_PAYLOAD = 0x0424
INTERFACE_VERSION = 0x34
SHORT_MESSAGE_MAX = 140  # octets in short_message; more goes in message_payload

# A few command_status values worth a clear sentence (SMPP 3.4, §5.1.3).
STATUS_TEXT = {
    0x0E: "invalid password",
    0x0F: "invalid system id",
    0x0B: "invalid destination address",
    0x0A: "invalid source address",
    0x45: "submit failed",
    0x58: "throttled",
    0x14: "message queue full",
}


class SmppError(Exception):
    """The centre refused (with its command_status) or could not be reached."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Pdu:
    command_id: int
    sequence: int
    status: int = 0
    body: bytes = b""

    def encode(self) -> bytes:
        return struct.pack(">IIII", 16 + len(self.body), self.command_id, self.status,
                           self.sequence) + self.body


def read_pdu(sock: socket.socket) -> Pdu:
    header = _read_exactly(sock, 16)
    length, command_id, status, sequence = struct.unpack(">IIII", header)
    if length < 16 or length > 65536:
        raise SmppError(f"malformed PDU length {length}")
    return Pdu(command_id, sequence, status, _read_exactly(sock, length - 16))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, missing = [], size
    while missing:
        chunk = sock.recv(missing)
        if not chunk:
            raise SmppError("connection closed by the SMS centre")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def cstring(value: str, limit: int) -> bytes:
    raw = value.encode("ascii")
    if len(raw) >= limit:
        raise SmppError(f"field too long: {value!r}")
    return raw + b"\0"


def read_cstring(body: bytes, offset: int) -> tuple[str, int]:
    end = body.index(b"\0", offset)
    return body[offset:end].decode("ascii", "replace"), end + 1


def encode_text(text: str) -> tuple[int, bytes]:
    """(data_coding, octets): ASCII as the centre's default alphabet, anything else UCS-2."""
    try:
        return 0, text.encode("ascii")
    except UnicodeEncodeError:
        return 8, text.encode("utf-16-be")


def decode_text(data_coding: int, octets: bytes) -> str:
    if data_coding == 8:
        return octets.decode("utf-16-be")
    if data_coding == 3:
        return octets.decode("latin-1")
    return octets.decode("ascii", "replace")


@dataclass
class SubmitSm:
    source: str
    destination: str
    text: str
    source_ton: int = 5  # alphanumeric sender ("VALMONT")
    source_npi: int = 0
    dest_ton: int = 1  # international number, without its "+"
    dest_npi: int = 1
    extra: dict[int, bytes] = field(default_factory=dict)

    def body(self) -> bytes:
        coding, octets = encode_text(self.text)
        long = len(octets) > SHORT_MESSAGE_MAX
        parts = [
            cstring("", 6),  # service_type
            bytes([self.source_ton, self.source_npi]), cstring(self.source, 21),
            bytes([self.dest_ton, self.dest_npi]), cstring(self.destination, 21),
            bytes([0, 0, 0]),  # esm_class, protocol_id, priority_flag
            cstring("", 17), cstring("", 17),  # schedule_delivery_time, validity_period
            bytes([0, 0, coding, 0]),  # registered_delivery, replace, data_coding, default id
        ]
        if long:
            parts += [bytes([0]), struct.pack(">HH", MESSAGE_PAYLOAD, len(octets)), octets]
        else:
            parts += [bytes([len(octets)]), octets]
        return b"".join(parts)

    @classmethod
    def parse(cls, body: bytes) -> SubmitSm:
        _service, offset = read_cstring(body, 0)
        source_ton, source_npi = body[offset], body[offset + 1]
        source, offset = read_cstring(body, offset + 2)
        dest_ton, dest_npi = body[offset], body[offset + 1]
        destination, offset = read_cstring(body, offset + 2)
        offset += 3
        _schedule, offset = read_cstring(body, offset)
        _validity, offset = read_cstring(body, offset)
        coding = body[offset + 2]
        length = body[offset + 4]
        offset += 5
        octets = body[offset:offset + length]
        offset += length
        extra: dict[int, bytes] = {}
        while offset + 4 <= len(body):
            tag, size = struct.unpack(">HH", body[offset:offset + 4])
            extra[tag] = body[offset + 4:offset + 4 + size]
            offset += 4 + size
        if not octets and MESSAGE_PAYLOAD in extra:
            octets = extra[MESSAGE_PAYLOAD]
        return cls(source=source, destination=destination, text=decode_text(coding, octets),
                   source_ton=source_ton, source_npi=source_npi, dest_ton=dest_ton,
                   dest_npi=dest_npi, extra=extra)


class SmppTransmitter:
    """One session with the centre: `with SmppTransmitter(...) as smpp: smpp.submit(...)`."""

    def __init__(self, host: str, port: int, system_id: str, password: str,
                 system_type: str = "", timeout: float = 10.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.sock: socket.socket | None = None
        self.sequence = 0

    def __enter__(self) -> SmppTransmitter:
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise SmppError(f"SMS centre unreachable at {self.host}:{self.port}: {exc}") from exc
        body = (cstring(self.system_id, 16) + cstring(self.password, 9)
                + cstring(self.system_type, 13) + bytes([INTERFACE_VERSION, 0, 0])
                + cstring("", 41))
        self.request(BIND_TRANSMITTER, body, BIND_TRANSMITTER_RESP)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.sock is None:
            return
        try:
            if exc_info[0] is None:
                self.request(UNBIND, b"", UNBIND_RESP)
        except SmppError:
            pass
        finally:
            self.sock.close()
            self.sock = None

    def request(self, command_id: int, body: bytes, expected: int) -> Pdu:
        assert self.sock is not None
        self.sequence += 1
        try:
            self.sock.sendall(Pdu(command_id, self.sequence, 0, body).encode())
            while True:
                answer = read_pdu(self.sock)
                if answer.command_id == ENQUIRE_LINK:
                    self.sock.sendall(Pdu(ENQUIRE_LINK_RESP, answer.sequence).encode())
                    continue
                break
        except (TimeoutError, OSError) as exc:
            raise SmppError(f"SMS centre did not answer: {exc}") from exc
        if answer.command_id not in (expected, GENERIC_NACK) or answer.sequence != self.sequence:
            raise SmppError(f"unexpected answer 0x{answer.command_id:08x}")
        if answer.status or answer.command_id == GENERIC_NACK:
            reason = STATUS_TEXT.get(answer.status, "refused")
            raise SmppError(f"SMS centre: {reason} (status 0x{answer.status:02x})",
                            status=answer.status)
        return answer

    def submit(self, message: SubmitSm) -> str:
        """Hand one message to the centre; returns the message id it gave."""
        answer = self.request(SUBMIT_SM, message.body(), SUBMIT_SM_RESP)
        message_id, _ = read_cstring(answer.body, 0) if answer.body else ("", 0)
        return message_id
