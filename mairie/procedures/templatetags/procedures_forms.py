"""Template helpers of the filing pages: reach a page form's inputs by their flat names."""

from django import template

register = template.Library()


@register.filter
def bound(form, name):
    """`form[name]` for a name held in a variable (the page layout lists its inputs)."""
    return form[name]
