"""Forms of the builder's "Automatisation" page: deadlines, silence vaut accord / refus,
routing rules and automatic transitions. Each rule is one row of a formset (a blank row to
add one, a "Supprimer" box to remove one, "Ordre" to reorder); conditions are checked against
the form's field keys with the expression language's French messages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from mairie.core.organisation.models import Membership, Service

from . import automation, expressions
from . import workflow as engine
from .models import ProcedureDefinition


class DeadlineForm(forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    reminder_days = forms.CharField(
        label=_("Rappels à l'agent chargé du dossier (jours avant l'échéance)"), required=False,
        max_length=100,
        help_text=_("Nombres de jours séparés par des virgules, 0 pour le jour même ; par "
                    "exemple « 3, 0 ». Laissez vide pour ne pas envoyer de rappel."))
    escalate = forms.BooleanField(
        label=_("Alerter les chefs de service quand l'échéance est dépassée"), required=False)

    def clean_reminder_days(self) -> list[int]:
        text = self.cleaned_data["reminder_days"].replace(";", ",")
        days = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            if not part.isdigit() or int(part) > automation.MAX_REMINDER_DAYS:
                raise forms.ValidationError(
                    _("« %(value)s » n'est pas un nombre de jours entre 0 et %(max)s.")
                    % {"value": part, "max": automation.MAX_REMINDER_DAYS})
            days.append(int(part))
        return sorted(set(days), reverse=True)


class _RuleForm(forms.Form):
    """A row; `context` (procedure, workflow, field names) comes from the formset."""

    def __init__(self, *args, context: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.context = context
        self.setup()

    def setup(self) -> None:  # pragma: no cover - overridden
        pass

    def clean_condition(self) -> str:
        condition = self.cleaned_data.get("condition", "").strip()
        if condition:
            try:
                expressions.compile_expression(condition, names=self.context["names"])
            except expressions.ExpressionError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return condition


def _condition_field(required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=_("Condition"), required=required, max_length=500,
        help_text=_("Expression sur les réponses, avec les clés des champs du formulaire ; "
                    "par exemple : categorie == \"naissance\". Vide : toujours vraie."))


class SilenceForm(_RuleForm):
    state = forms.ChoiceField(label=_("État où le délai court"))
    kind = forms.ChoiceField(label=_("Effet du silence"),
                             choices=[("", "—"), *automation.SILENCE_KINDS.items()])
    decision = forms.ChoiceField(label=_("Décision atteinte à l'échéance"))

    def setup(self) -> None:
        states = self.context["workflow"].states if self.context["workflow"] else []
        self.fields["state"].choices = [("", "—")] + [
            (s["key"], s.get("label") or s["key"]) for s in states if s.get("deadline_days")]
        self.fields["decision"].choices = [("", "—")] + [
            (s["key"], s.get("label") or s["key"]) for s in states if s.get("kind") == "final"]

    def rule(self) -> dict[str, Any]:
        return {k: self.cleaned_data[k] for k in ("state", "kind", "decision")}


class RoutingForm(_RuleForm):
    label = forms.CharField(label=_("Nom de la règle"), max_length=100)
    condition = _condition_field()
    service = forms.ModelChoiceField(label=_("Attribuer au service"), queryset=Service.objects
                                     .none(), required=False)
    agent = forms.ModelChoiceField(label=_("Attribuer à l'agent"),
                                   queryset=get_user_model().objects.none(), required=False)

    def setup(self) -> None:
        organisation = self.context["definition"].organisation
        self.fields["service"].queryset = Service.objects.filter(
            organisation=organisation).order_by("name")
        self.fields["agent"].queryset = get_user_model().objects.filter(
            organisation=organisation, is_active=True,
            pk__in=Membership.objects.filter(organisation=organisation).values("user_id"),
        ).order_by("last_name", "first_name", "email")
        self.fields["agent"].label_from_instance = lambda u: u.get_full_name() or u.email

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("service") and not data.get("agent"):
            self.add_error("service", _("Choisissez un service, un agent ou les deux."))
        return data

    def rule(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"label": data["label"], "condition": data["condition"],
                "service": str(data["service"].pk) if data.get("service") else "",
                "agent": str(data["agent"].pk) if data.get("agent") else ""}


class TransitionRuleForm(_RuleForm):
    label = forms.CharField(label=_("Nom de la règle"), max_length=100)
    event = forms.ChoiceField(label=_("Quand"), choices=[("", "—"),
                                                         *automation.EVENTS.items()])
    condition = _condition_field()
    transition = forms.ChoiceField(label=_("Transition franchie par le système"))

    def setup(self) -> None:
        workflow = self.context["workflow"]
        transitions = workflow.transitions if workflow else []
        self.fields["transition"].choices = [("", "—")] + [
            (t["key"], f"{t.get('label') or t['key']} ({t['key']})") for t in transitions
            if isinstance(t, dict) and t.get("key")]

    def clean_transition(self) -> str:
        key = self.cleaned_data["transition"]
        transition = engine.find_transition(self.context["workflow"], key)
        refusal = engine.system_refusal(transition) if transition else ""
        if refusal:
            raise forms.ValidationError(
                _("Le système ne peut pas franchir cette transition : %(why)s")
                % {"why": refusal})
        return key

    def rule(self) -> dict[str, Any]:
        return {k: self.cleaned_data[k] for k in ("label", "event", "condition", "transition")}


class _RuleFormSet(forms.BaseFormSet):
    def __init__(self, *args, context: dict, **kwargs) -> None:
        self.context = context
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "context": self.context}

    @property
    def empty_form(self):  # pragma: no cover - not used (no JavaScript row adding)
        return self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"),
                         empty_permitted=True, use_required_attribute=False,
                         context=self.context)

    def rules(self) -> list[dict]:
        # ordered_forms leaves out deleted rows and the blank row left blank.
        return [form.rule() for form in self.ordered_forms]


def _formset(form_class):
    return forms.formset_factory(form_class, formset=_RuleFormSet, extra=1, can_delete=True,
                                 can_order=True)


SilenceFormSet = _formset(SilenceForm)
RoutingFormSet = _formset(RoutingForm)
TransitionRuleFormSet = _formset(TransitionRuleForm)


def _initial_routing(rules: list[dict]) -> list[dict]:
    return [{"label": r.get("label", ""), "condition": r.get("condition", ""),
             "service": r.get("service") or None, "agent": r.get("agent") or None}
            for r in rules]


def build_forms(definition: ProcedureDefinition, settings, data=None) -> dict[str, Any]:
    """The page's form and three formsets, bound to `data` when posted."""
    version = automation.reference_version(definition)
    from . import schema as schema_helpers

    context = {"definition": definition, "workflow": version.workflow if version else None,
               "names": schema_helpers.answer_names(version.schema) if version else set()}
    reminders = settings.reminder_days if settings else list(automation.DEFAULT_REMINDERS)
    deadline = DeadlineForm(data, initial={
        "revision": settings.revision if settings else 0,
        "reminder_days": ", ".join(str(d) for d in reminders),
        "escalate": settings.escalate if settings else True})
    return {
        "form": deadline,
        "silence": SilenceFormSet(data, prefix="silence", context=context,
                                  initial=settings.silence_rules if settings else []),
        "routing": RoutingFormSet(data, prefix="routing", context=context,
                                  initial=_initial_routing(settings.routing_rules
                                                           if settings else [])),
        "rules": TransitionRuleFormSet(data, prefix="rules", context=context,
                                       initial=settings.transition_rules if settings else []),
        "workflow": context["workflow"],
        "names": sorted(context["names"]),
    }
