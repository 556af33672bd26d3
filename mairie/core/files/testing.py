"""Helpers for tests that upload files: real sample contents and a clamd stand-in.

`FakeClamd` is a small server speaking clamd's socket protocol (zPING, zINSTREAM with 4-byte
big-endian chunk lengths). It answers `stream: Eicar-Test-Signature FOUND` when the stream holds
the EICAR test string, `stream: OK` otherwise, exactly as ClamAV does; a real clamd cannot run
here because it needs virus definitions downloaded from the network
(docs/decisions/0141-clamd-protocol-client.md).
"""

from __future__ import annotations

import os
import socket
import socketserver
import struct
import tempfile
import threading
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile

# Built in two halves so that this source file is not itself flagged by a scanner.
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    """A valid PNG image (white pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack("!I", len(data)) + kind + data
                + struct.pack("!I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf_bytes(text: str = "Attestation") -> bytes:
    """A minimal one-page PDF."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"
            b" endobj\n4 0 obj << /Length " + str(len(stream)).encode() + b" >> stream\n"
            + stream + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def exe_bytes() -> bytes:
    """The start of a Windows executable (DOS header, "MZ")."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 240


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    """An uploaded file as a view receives it (the name and type are the browser's claims)."""
    return SimpleUploadedFile(name, content, content_type=content_type)


class _ClamdHandler(socketserver.BaseRequestHandler):
    def _read_command(self) -> bytes:
        command = bytearray()
        while not command.endswith((b"\0", b"\n")):
            byte = self.request.recv(1)
            if not byte:
                break
            command += byte
        return bytes(command).rstrip(b"\0\n")

    def _read_exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            piece = self.request.recv(size - len(data))
            if not piece:
                raise ConnectionError("stream ended early")
            data += piece
        return bytes(data)

    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        command = self._read_command()
        server.fake.commands.append(command.decode())
        if server.fake.silent:
            server.fake.release.wait(30)
            return
        if command == b"zPING":
            self.request.sendall(b"PONG\0")
        elif command == b"zINSTREAM":
            received = bytearray()
            while True:
                (length,) = struct.unpack("!L", self._read_exactly(4))
                if length == 0:
                    break
                received += self._read_exactly(length)
            server.fake.streams.append(bytes(received))
            if EICAR in received:
                self.request.sendall(b"stream: Eicar-Test-Signature FOUND\0")
            else:
                self.request.sendall(b"stream: OK\0")
        else:
            self.request.sendall(b"UNKNOWN COMMAND\0")


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeClamd


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    fake: FakeClamd


class FakeClamd:
    """Start with `with FakeClamd() as clamd: settings.MAIRIE_CLAMD_URL = clamd.url`.

    `silent=True` accepts connections but never answers (a hung scanner, for timeouts);
    `unix=True` listens on a Unix socket instead of TCP.
    """

    def __init__(self, *, silent: bool = False, unix: bool = False) -> None:
        self.silent, self.unix = silent, unix
        self.commands: list[str] = []
        self.streams: list[bytes] = []
        self.release = threading.Event()
        self._tmpdir: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> FakeClamd:
        if self.unix:
            self._tmpdir = tempfile.TemporaryDirectory()
            path = os.path.join(self._tmpdir.name, "clamd.sock")
            self._server: socketserver.BaseServer = _UnixServer(path, _ClamdHandler)
            self.url = f"unix://{path}"
        else:
            self._server = _Server(("127.0.0.1", 0), _ClamdHandler)
            self.url = f"tcp://127.0.0.1:{self._server.server_address[1]}"
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()


def unused_tcp_url() -> str:
    """The URL of a local port where nothing listens (a scanner that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"
