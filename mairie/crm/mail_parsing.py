"""Reading an RFC 5322 message as agents need it: who sent it, to which address, its subject
(RFC 2047 encoded words decoded), its text (HTML turned into plain text, never rendered), its
attachments, and the identifiers that thread it with a conversation. Only the standard
library's `email` package, with `policy.default`; whatever cannot be read is said in French in
`problems`, never silently dropped (the raw message is kept beside it, decision 0467)."""

from __future__ import annotations

import datetime
import html
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser

from django.utils import timezone
from django.utils.translation import gettext as _

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Control characters a header must not carry into the page or into a reply's headers.
_HEADER_JUNK = re.compile(r"[\x00-\x1f\x7f]+")


class Unparsable(Exception):
    """Not an e-mail at all: no header could be read."""


@dataclass
class ParsedAttachment:
    filename: str
    declared_type: str
    payload: bytes


@dataclass
class ParsedMail:
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    sender_address: str = ""
    sender_name: str = ""
    recipients: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    subject: str = ""
    body_text: str = ""
    body_from_html: bool = False
    sent_at: datetime.datetime | None = None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """The identifiers of the messages this one answers, nearest first."""
        ids = ([self.in_reply_to] if self.in_reply_to else []) + list(reversed(self.references))
        return list(dict.fromkeys(ids))


def clean_header(value) -> str:
    return _HEADER_JUNK.sub(" ", _unescaped(str(value or ""))).strip()


def _unescaped(text: str) -> str:
    """Raw 8-bit bytes in a header (UTF-8 sent without RFC 2047, as some clients do) come out
    of the parser as surrogate escapes: read them as UTF-8, else as Windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def parse_message(raw: bytes) -> ParsedMail:
    if not raw or not raw.strip():
        raise Unparsable(_("Message vide."))
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not message.keys():
        raise Unparsable(_("Aucun en-tête lisible : ce n'est pas un courriel."))
    assert isinstance(message, EmailMessage)
    parsed = ParsedMail()
    parsed.message_id = _first_id(_header(message, "Message-ID", parsed))[:500]
    parsed.in_reply_to = _first_id(_header(message, "In-Reply-To", parsed))[:500]
    parsed.references = MESSAGE_ID.findall(_header(message, "References", parsed))[-50:]
    parsed.sender_address, parsed.sender_name = _sender(message, parsed)
    parsed.recipients = _addresses(message, ("To", "Cc"), parsed)
    parsed.delivered_to = _addresses(message, ("Delivered-To", "X-Original-To"), parsed)
    parsed.subject = _header(message, "Subject", parsed)[:300]
    parsed.sent_at = _date(message, parsed)
    _read_parts(message, parsed)
    return parsed


def _header(message: EmailMessage, name: str, parsed: ParsedMail) -> str:
    try:
        return clean_header(message.get(name, ""))
    except Exception:  # a header so broken that even decoding it fails
        parsed.problems.append(_("En-tête « %(name)s » illisible.") % {"name": name})
        return ""


def _first_id(value: str) -> str:
    found = MESSAGE_ID.findall(value)
    return found[0] if found else ""


def _sender(message: EmailMessage, parsed: ParsedMail) -> tuple[str, str]:
    try:
        header = message.get("From")
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except Exception:
        addresses = ()
    for address in addresses:
        spec = clean_header(address.addr_spec).lower()
        if address.username and address.domain and "@" in spec and " " not in spec:
            return spec[:320], clean_header(address.display_name)[:200]
    return "", ""


def _addresses(message: EmailMessage, names: tuple[str, ...], parsed: ParsedMail) -> list[str]:
    found: list[str] = []
    for name in names:
        try:
            headers = message.get_all(name) or []
            for header in headers:
                for address in getattr(header, "addresses", ()):
                    spec = clean_header(address.addr_spec).lower()
                    if "@" in spec:
                        found.append(spec)
        except Exception:
            parsed.problems.append(_("En-tête « %(name)s » illisible.") % {"name": name})
    return list(dict.fromkeys(found))


def _date(message: EmailMessage, parsed: ParsedMail) -> datetime.datetime | None:
    if message.get("Date") is None:
        return None
    try:
        value = message["Date"].datetime
    except Exception:
        value = None
    if value is None:
        parsed.problems.append(_("Date d'envoi illisible : « %(value)s ».")
                               % {"value": _header(message, "Date", parsed)[:80]})
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    return value


def _read_parts(message: EmailMessage, parsed: ParsedMail) -> None:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        text = _text_of(body, parsed)
        if body.get_content_subtype() == "html":
            parsed.body_text, parsed.body_from_html = html_to_text(text), True
        else:
            parsed.body_text = text.strip()
    for part in message.walk():
        if part is body or part.is_multipart():
            continue
        if part.get_content_maintype() == "text" and not part.get_filename() \
                and not part.is_attachment():
            continue  # the other alternative of the body (its HTML or plain twin)
        parsed.attachments.append(_attachment(part, len(parsed.attachments) + 1, parsed))


def _text_of(part, parsed: ParsedMail) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        charset = part.get_content_charset() or "?"
        parsed.problems.append(_("Texte écrit dans un jeu de caractères inconnu (« %(charset)s ») "
                                 ": certains caractères sont remplacés.") % {"charset": charset})
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _attachment(part, number: int, parsed: ParsedMail) -> ParsedAttachment:
    try:
        name = clean_header(part.get_filename() or "")
    except Exception:
        name = ""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        payload = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        name = name or _("message-joint-%(n)s.eml") % {"n": number}
    else:
        payload = part.get_payload(decode=True) or b""
    return ParsedAttachment(filename=name or _("piece-jointe-%(n)s") % {"n": number},
                            declared_type=part.get_content_type()[:100], payload=payload)


class _TextExtractor(HTMLParser):
    """Only the text of an HTML mail: scripts, styles and heads dropped, blocks and line
    breaks kept as new lines, links shown with their address. Nothing is ever rendered."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
              "ul", "ol", "blockquote", "section", "article", "header", "footer", "hr"}
    SKIPPED = {"script", "style", "head", "title", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0
        self.link: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.chunks.append("\n")
        if tag == "li":
            self.chunks.append("- ")
        if tag == "a":
            self.link = dict(attrs).get("href") or None

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.chunks.append("\n")
        if tag == "a" and self.link:
            if self.link.startswith(("http://", "https://", "mailto:")):
                self.chunks.append(f" ({self.link})")
            self.link = None

    def handle_data(self, data):
        if not self.skipping:
            self.chunks.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
    except Exception:  # HTMLParser is lenient; this is for the pathological rest
        return html.unescape(re.sub(r"<[^>]*>", " ", markup)).strip()
    lines = [line.strip() for line in "".join(extractor.chunks).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
