"""Colour contrast (WCAG 2.x) of an organisation's theme.

The primary and secondary colours are used as backgrounds behind white text (buttons, badges)
and as text on white (links), so both must reach the AA ratio of 4.5:1 against white.
"""

import math

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

WCAG_AA_NORMAL_TEXT = 4.5
WHITE = "#ffffff"


def relative_luminance(colour: str) -> float:
    """Relative luminance of a #RRGGBB colour, as WCAG 2.x defines it."""
    value = colour.lstrip("#")
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)),
                             reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def validate_contrast_with_white(colour: str) -> None:
    """Refuse a colour on which white text (and which, as text on white) is hard to read."""
    ratio = contrast_ratio(colour, WHITE)
    if ratio < WCAG_AA_NORMAL_TEXT:
        # Rounded down, so that a refused colour never shows as "4.50:1".
        shown = math.floor(ratio * 100) / 100
        raise ValidationError(
            _("Le contraste entre %(colour)s et le blanc est de %(ratio)s:1, en dessous du "
              "minimum de %(minimum)s:1 exigé par le RGAA (critère 3.2) : le texte blanc des "
              "boutons et les liens de cette couleur seraient difficiles à lire. Choisissez une "
              "teinte plus foncée.")
            % {"colour": colour, "ratio": number_format(shown, 2),
               "minimum": number_format(WCAG_AA_NORMAL_TEXT, 1)},
            code="low_contrast")


def readable_text_on(colour: str) -> str:
    """White or near-black, whichever reads better on `colour` (for themes set before the
    contrast check existed, or through the technical administration)."""
    dark = "#161616"
    return WHITE if contrast_ratio(colour, WHITE) >= contrast_ratio(colour, dark) else dark
