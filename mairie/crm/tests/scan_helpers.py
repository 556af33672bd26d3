"""Documents for the counter-scan tests: a page of French text drawn with a Debian font,
large enough for Tesseract to read, as a scanner or a phone would send it."""

from __future__ import annotations

import io
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LINES = ("Acte de naissance",
         "Élisabeth Quérard, née à Valmont",
         "le 3 février 1987. Fait en mairie.")


def french_page(lines=LINES, *, fmt: str = "PNG") -> bytes:
    """One page of black text on white, at 300 dpi, as PNG, JPEG, TIFF or PDF bytes."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 52)
    image = Image.new("RGB", (1800, 200 + 130 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((100, 100 + 130 * number), line, fill="black", font=font)
    out = io.BytesIO()
    if fmt == "PDF":
        image.save(out, "PDF", resolution=300)
    else:
        image.save(out, fmt, dpi=(300, 300))
    return out.getvalue()


def blank_page() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1200, 900), "white").save(out, "PNG")
    return out.getvalue()


def broken_png() -> bytes:
    """A PNG signature and header, then nothing: accepted as a PNG, unreadable."""
    return french_page()[:300]


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def text_pdf(text: str) -> bytes:
    """A PDF with real text in it (a document printed to PDF, or a scanner that reads)."""
    import weasyprint

    return weasyprint.HTML(string=f"<html lang='fr'><body><p>{text}</p></body></html>"
                           ).write_pdf()
