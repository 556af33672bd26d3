"""Real RFC 5322 messages, as an MTA hands them over (CRLF, encoded words, MIME parts), and
the pipe command fed with them."""

from __future__ import annotations

import base64
import io

from django.core.management import call_command

from mairie.crm.models import ServiceMailbox

PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n"
       b"%%EOF\n")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


HELENE = "=?utf-8?q?H=C3=A9l=C3=A8ne_Lef=C3=A8vre?= <Helene.Lefevre@Example.org>"


def mail_with_pdf(*, sender: str | None = HELENE,
                  to="etat-civil@valmont.example", message_id="<demande-1@example.org>",
                  extra_headers="") -> bytes:
    """A resident's mail from a common client: accented display name and subject (RFC 2047),
    plain and HTML alternatives, a PDF with an accented file name (RFC 2231)."""
    pdf = base64.encodebytes(PDF).decode()
    from_line = f"From: {sender}\n" if sender is not None else ""
    return crlf(
        f"Return-Path: <helene.lefevre@example.org>\n"
        f"{from_line}"
        f"To: =?utf-8?q?Mairie_=E2=80=94_=C3=89tat_civil?= <{to}>\n"
        "Subject: =?utf-8?q?Demande_d=27acte_de_naissance_=E2=80=94_r=C3=A9ponse_?=\n"
        " =?utf-8?q?souhait=C3=A9e?=\n"
        "Date: Tue, 03 Mar 2026 10:15:00 +0100\n"
        f"Message-ID: {message_id}\n"
        f"{extra_headers}"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="frontiere-1"\n'
        "\n"
        "--frontiere-1\n"
        'Content-Type: multipart/alternative; boundary="alt-1"\n'
        "\n"
        "--alt-1\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Bonjour,\n"
        "Je souhaite un extrait d'acte de naissance pour mon fils. Merci =E2=80=94 H=C3=\n"
        "=A9l=C3=A8ne\n"
        "--alt-1\n"
        'Content-Type: text/html; charset="utf-8"\n'
        "\n"
        "<html><body><p>Bonjour,</p><script>alert('x')</script></body></html>\n"
        "--alt-1--\n"
        "\n"
        "--frontiere-1\n"
        'Content-Type: application/pdf; name="piece.pdf"\n'
        "Content-Disposition: attachment; filename*=utf-8''pi%C3%A8ce%20d%27identit%C3%A9.pdf\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        f"{pdf}"
        "--frontiere-1--\n")


def simple_mail(*, sender: str | None = "Jean Dupont <jean.dupont@example.net>",
                to="etat-civil@valmont.example", subject="Horaires de la mairie",
                body="Bonjour, quels sont vos horaires le samedi ?",
                message_id: str | None = "<horaires-1@example.net>", headers: str = "",
                content_type='text/plain; charset="utf-8"') -> bytes:
    lines = []
    if sender is not None:
        lines.append(f"From: {sender}")
    lines += [f"To: {to}", f"Subject: {subject}", "Date: Wed, 04 Mar 2026 09:00:00 +0100"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if headers:
        lines.append(headers.rstrip("\n"))
    lines += ["MIME-Version: 1.0", f"Content-Type: {content_type}",
              "Content-Transfer-Encoding: 8bit", "", body, ""]
    return crlf("\n".join(lines))


def deliver(raw: bytes, *recipients: str) -> str:
    """`python -m mairie inbound-mail [--recipient …]` with `raw` on standard input."""
    out = io.StringIO()
    call_command("inbound_mail", *[f"--recipient={r}" for r in recipients],
                 stdin=io.BytesIO(raw), stdout=out)
    return out.getvalue()


def make_mailbox(service, address="etat-civil@valmont.example", **values) -> ServiceMailbox:
    return ServiceMailbox.objects.create(organisation=service.organisation, service=service,
                                         address=address, **values)
