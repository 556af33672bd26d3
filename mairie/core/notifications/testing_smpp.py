"""A small SMS centre that speaks SMPP 3.4 on a local port, for tests: it binds transmitters
with a system id and password, takes submit_sm and keeps what it received, answers
enquire_link and unbind, and can be told to refuse messages with a given status."""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field

from . import smpp


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


@dataclass
class ReceivedSms:
    system_id: str
    source: str
    destination: str
    text: str
    dest_ton: int


@dataclass
class SmsCentre:
    system_id: str = "mairie"
    password: str = "secret"
    refuse_with: int = 0  # a command_status to answer every submit_sm with
    received: list[ReceivedSms] = field(default_factory=list)
    _server: socketserver.ThreadingTCPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, **query: str) -> str:
        tail = "&".join(f"{k}={v}" for k, v in query.items())
        return (f"smpp://{self.system_id}:{self.password}@127.0.0.1:{self.port}"
                + (f"?{tail}" if tail else ""))

    def start(self) -> SmsCentre:
        centre = self

        class Session(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                bound_as = None
                while True:
                    try:
                        pdu = smpp.read_pdu(self.request)
                    except smpp.SmppError:
                        return
                    answer = centre.answer(pdu, bound_as)
                    if pdu.command_id == smpp.BIND_TRANSMITTER and not answer.status:
                        bound_as = smpp.read_cstring(pdu.body, 0)[0]
                    self.request.sendall(answer.encode())
                    if pdu.command_id == smpp.UNBIND:
                        return

        self._server = _Server(("127.0.0.1", 0), Session)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, pdu: smpp.Pdu, bound_as: str | None) -> smpp.Pdu:
        reply = pdu.command_id | 0x80000000
        if pdu.command_id == smpp.BIND_TRANSMITTER:
            system_id, offset = smpp.read_cstring(pdu.body, 0)
            password, _ = smpp.read_cstring(pdu.body, offset)
            status = (0x0F if system_id != self.system_id
                      else 0x0E if password != self.password else 0)
            return smpp.Pdu(reply, pdu.sequence, status, smpp.cstring("TESTSMSC", 16))
        if pdu.command_id == smpp.SUBMIT_SM:
            if bound_as is None:
                return smpp.Pdu(reply, pdu.sequence, 0x04)  # ESME_RINVBNDSTS: not bound
            if self.refuse_with:
                return smpp.Pdu(reply, pdu.sequence, self.refuse_with)
            message = smpp.SubmitSm.parse(pdu.body)
            self.received.append(ReceivedSms(bound_as, message.source, message.destination,
                                             message.text, message.dest_ton))
            return smpp.Pdu(reply, pdu.sequence, 0,
                            smpp.cstring(f"msg-{len(self.received)}", 65))
        if pdu.command_id in (smpp.UNBIND, smpp.ENQUIRE_LINK):
            return smpp.Pdu(reply, pdu.sequence)
        return smpp.Pdu(smpp.GENERIC_NACK, pdu.sequence, 0x03)  # invalid command id
