from django import template

from ..events import describe

register = template.Library()


@register.filter
def event_text(event) -> str:
    """The sentence of a timeline event (see procedures/events.py)."""
    return describe(event)
