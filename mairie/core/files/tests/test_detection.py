"""Content sniffing: what the bytes are, whatever the name says."""

import io
import zipfile

import pytest

from mairie.core.files.detection import ContentSniffer, format_size, french_list
from mairie.core.files.testing import exe_bytes, pdf_bytes, png_bytes


def _sniff(content: bytes, chunk: int = 7) -> str:
    sniffer = ContentSniffer()
    for start in range(0, len(content), chunk):
        sniffer.feed(content[start:start + chunk])
    return sniffer.content_type()


def _odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


@pytest.mark.parametrize(("content", "expected"), [
    (pdf_bytes(), "application/pdf"),
    (png_bytes(), "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100, "image/jpeg"),
    (exe_bytes(), "application/x-msdownload"),
    (_odt(), "application/vnd.oasis.opendocument.text"),
    ("Élève et œuvre — « citation »\nUne ligne, avec une virgule.\n".encode(), "text/plain"),
    (b"\xef\xbb\xbfnom,ville\nA,B\nC,D\n", "text/csv"),
    ("Zoé;Noël\nLéa;Gaël\n".encode("cp1252"), "text/csv"),
    (b"  \n<html><body>Bonjour</body></html>", "text/html"),
    (b"Un texte puis <script>alert(1)</script>", "text/html"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    (b"<?xml version='1.0'?><dossier/>", "application/xml"),
    (b"<3 merci pour tout\n", "text/plain"),
    (b"texte\x00binaire", "application/octet-stream"),
    (b"\x81\x8d\xc3", "application/octet-stream"),  # neither UTF-8 nor Windows-1252
])
def test_the_type_comes_from_the_bytes(content, expected):
    assert _sniff(content) == expected


def test_a_character_split_across_chunks_is_still_text():
    # "é" is two bytes in UTF-8; with 1-byte chunks every character is split.
    assert _sniff("café crème\n".encode(), chunk=1) == "text/plain"


def test_sizes_and_lists_read_naturally_in_french():
    assert format_size(10 * 1024 * 1024) == "10 Mo"
    assert format_size(1536) == "1,5 Ko"
    assert format_size(900) == "900 octets"
    assert french_list(["PDF", "JPEG", "PNG"]) == "PDF, JPEG et PNG"
    assert french_list(["PDF"]) == "PDF"
