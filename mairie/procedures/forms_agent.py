"""The inbox's filter form (GET, works without JavaScript)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Workflow


class InboxFilterForm(forms.Form):
    """Procedure, state and a free text; the choices are the organisation's procedures and the
    states of their workflows (drafts excluded: the inbox never lists them)."""

    procedure = forms.ChoiceField(label=_("Démarche"), required=False)
    state = forms.ChoiceField(label=_("État"), required=False)
    q = forms.CharField(label=_("Numéro, nom ou courriel du demandeur"), required=False,
                        max_length=200)

    def __init__(self, *args, procedures=(), **kwargs):
        super().__init__(*args, **kwargs)
        procedures = list(procedures)
        self.fields["procedure"].choices = [("", _("Toutes"))] + [
            (str(p.pk), p.title) for p in procedures]
        states: dict[str, str] = {}
        for procedure in procedures:
            for state in procedure.current_version.workflow.states:
                if state.get("kind") != Workflow.Kind.DRAFT and state.get("key"):
                    states.setdefault(state["key"], state.get("label") or state["key"])
        self.fields["state"].choices = [("", _("Tous"))] + sorted(
            states.items(), key=lambda item: item[1].lower())
