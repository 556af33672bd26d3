"""Template helpers of the filing pages: reach a page form's inputs by their flat names."""

from django import template

register = template.Library()


@register.filter
def bound(form, name):
    """`form[name]` for a name held in a variable (the page layout lists its inputs)."""
    return form[name]


@register.simple_tag
def conditions_data(form):
    """What `procedures/conditions.js` needs to show and hide conditional fields live: the
    page's inputs (flat names, key, type, condition, whether required when shown), the saved
    answers the conditions read (only those), and the server's date for `today`. None when no
    field of the page has a condition (the page then loads no script at all)."""
    from django.utils import timezone

    from mairie.procedures.expressions import ExpressionError, compile_expression
    from mairie.procedures.schema import effective_answers

    entries: list[dict] = []

    def collect(layout):
        for entry in layout:
            if entry.get("kind") == "block":
                for item in entry.get("items", []):
                    collect(item["entries"])
            elif entry.get("names"):
                entries.append({"name": entry["name"], "key": entry["key"],
                                "type": entry["kind"], "inputs": entry["names"],
                                "condition": entry.get("condition") or "",
                                "required": bool(entry["spec"].get("required"))})

    collect(getattr(form, "layout", []))
    used: set[str] = set()
    for entry in entries:
        if entry["condition"]:
            try:
                used |= compile_expression(entry["condition"]).names
            except ExpressionError:
                pass  # stays visible: the script shows what it cannot evaluate
    if not any(entry["condition"] for entry in entries):
        return None
    saved = effective_answers(form.schema, form.previous)
    return {"today": timezone.localdate().isoformat(), "entries": entries,
            "answers": {name: saved[name] for name in sorted(used) if name in saved}}
