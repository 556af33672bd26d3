"""Virus scanning with ClamAV's daemon (clamd), spoken to directly over its socket protocol.

`MAIRIE_CLAMD_URL` is `tcp://host:3310` or `unix:///run/clamav/clamd.ctl`. The file is sent
with `zINSTREAM`: chunks each preceded by their length as a 4-byte big-endian integer, ended by
a zero length; clamd answers `stream: OK` or `stream: <signature> FOUND`. Commands carry the
`z` prefix, so they and the replies end with a NUL byte.

Policy (docs/decisions/0141-clamd-protocol-client.md): when a scanner is configured and cannot
give a verdict (down, timeout, error), the upload is refused — fail closed. When none is
configured, files are stored unscanned and this is logged once per process.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
_MAX_REPLY = 4096
_warned_unconfigured = False


class ScannerUnavailable(Exception):
    """A scanner is configured but gave no verdict (unreachable, timeout, error reply)."""


@dataclass(frozen=True)
class Verdict:
    infected: bool
    signature: str = ""


class ClamdClient:
    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.address: tuple[str, int] | str
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            self.family, self.address = socket.AF_INET, (parts.hostname, parts.port)
            if ":" in parts.hostname:
                self.family = socket.AF_INET6
        elif parts.scheme == "unix" and parts.path:
            self.family, self.address = socket.AF_UNIX, parts.path
        else:
            raise ValueError(
                f"MAIRIE_CLAMD_URL must be tcp://host:port or unix:///path, not {url!r}")
        self.url = url
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.address)
        except OSError as exc:
            sock.close()
            raise ScannerUnavailable(f"clamd unreachable at {self.url}: {exc}") from exc
        return sock

    @staticmethod
    def _read_reply(sock: socket.socket) -> str:
        reply = bytearray()
        while b"\0" not in reply and len(reply) < _MAX_REPLY:
            data = sock.recv(_MAX_REPLY)
            if not data:
                break
            reply += data
        return reply.split(b"\0", 1)[0].decode("utf-8", errors="replace").strip()

    def ping(self) -> bool:
        """True when clamd answers PONG (for health checks)."""
        try:
            with self._connect() as sock:
                sock.sendall(b"zPING\0")
                return self._read_reply(sock) == "PONG"
        except (OSError, ScannerUnavailable):
            return False

    def scan_chunks(self, chunks: Iterable[bytes]) -> Verdict:
        """Stream the content to clamd and return its verdict; raise ScannerUnavailable."""
        with self._connect() as sock:
            try:
                sock.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    for start in range(0, len(chunk), CHUNK_SIZE):
                        piece = chunk[start:start + CHUNK_SIZE]
                        sock.sendall(struct.pack("!L", len(piece)) + piece)
                sock.sendall(struct.pack("!L", 0))
            except OSError as exc:
                # clamd closes the connection early when the stream exceeds its
                # StreamMaxLength; its reply (if any) says so.
                reply = self._try_read(sock)
                raise ScannerUnavailable(
                    f"clamd stopped the stream: {reply or exc}") from exc
            try:
                reply = self._read_reply(sock)
            except OSError as exc:
                raise ScannerUnavailable(f"clamd did not answer: {exc}") from exc
        return parse_reply(reply)

    def _try_read(self, sock: socket.socket) -> str:
        try:
            return self._read_reply(sock)
        except OSError:
            return ""


def parse_reply(reply: str) -> Verdict:
    """`stream: OK` → clean; `stream: Eicar-Test-Signature FOUND` → infected; else an error."""
    _, _, status = reply.partition(": ")
    if status == "OK":
        return Verdict(infected=False)
    if status.endswith(" FOUND"):
        return Verdict(infected=True, signature=status[: -len(" FOUND")].strip())
    raise ScannerUnavailable(f"unexpected clamd reply: {reply!r}")


def configured_client() -> ClamdClient | None:
    """The scanner of this instance, or None (logged once) when MAIRIE_CLAMD_URL is empty."""
    global _warned_unconfigured
    url = getattr(settings, "MAIRIE_CLAMD_URL", "")
    if not url:
        if not _warned_unconfigured:
            logger.warning("No virus scanner configured (MAIRIE_CLAMD_URL is empty): "
                           "uploaded files are stored without an antivirus scan.")
            _warned_unconfigured = True
        return None
    return ClamdClient(url, timeout=settings.MAIRIE_FILE_SCAN_TIMEOUT)


def scan_file(fileobj) -> Verdict | None:
    """Scan a Django `File`/`UploadedFile`; None when no scanner is configured."""
    client = configured_client()
    if client is None:
        return None
    fileobj.seek(0)
    return client.scan_chunks(fileobj.chunks(CHUNK_SIZE))
