"""The small fixed forms of processing: assignment, labels, messages, annotations, opinions
(the correction form is built from the procedure's own fields, see
`processing.correction_form`)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Label

TEXT_MAX = 5000


def _text(label, required_message, *, help_text="", rows=4):
    return forms.CharField(label=label, max_length=TEXT_MAX, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows}),
                           error_messages={"required": required_message,
                                           "max_length": _("Le texte dépasse %(limit_value)s "
                                                           "caractères.")})


def _attachment(label=None):
    return forms.FileField(label=label or _("Pièce jointe (facultatif)"), required=False,
                           help_text=_("PDF, JPEG ou PNG, 10 Mo au plus."),
                           widget=forms.ClearableFileInput(
                               attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))


class AssignForm(forms.Form):
    prefix = "assign"
    agent = forms.ChoiceField(label=_("Attribuer à"), required=False)

    def __init__(self, *args, processors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", _("— Choisir un agent —"))] + [
            (str(user.pk), str(user)) for user in processors]


class LabelsForm(forms.Form):
    prefix = "labels"
    labels = forms.MultipleChoiceField(label=_("Étiquettes"), required=False,
                                       widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, labels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["labels"].choices = [(str(label.pk), label.name) for label in labels]


class MessageForm(forms.Form):
    prefix = "message"
    body = _text(_("Votre message"), _("Écrivez votre message."))
    attachment = _attachment()


class AnnotationForm(forms.Form):
    prefix = "annotation"
    body = _text(_("Annotation privée"), _("Écrivez l'annotation."),
                 help_text=_("Visible uniquement par les agents, jamais par le demandeur."),
                 rows=3)


class OpinionRequestForm(forms.Form):
    prefix = "opinion"
    service = forms.ChoiceField(label=_("Service consulté"),
                                error_messages={"required": _("Choisissez un service."),
                                                "invalid_choice": _("Choisissez un service de "
                                                                    "la liste.")})
    question = _text(_("Question posée au service"),
                     _("Écrivez la question posée au service."), rows=3)

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {str(service.pk): service for service in services}
        self.fields["service"].choices = [("", _("— Choisir un service —"))] + [
            (pk, service.name) for pk, service in self.services.items()]


class OpinionAnswerForm(forms.Form):
    answer = _text(_("Votre avis"), _("Écrivez votre avis."))
    attachment = _attachment()


class LabelForm(forms.Form):
    name = forms.CharField(label=_("Nom"), max_length=60,
                           error_messages={"required": _("Donnez un nom à l'étiquette.")})
    colour = forms.ChoiceField(label=_("Couleur"), choices=Label.Colour.choices,
                               initial=Label.Colour.GREY)
    definition = forms.ChoiceField(label=_("Démarche"), required=False,
                                   help_text=_("Laissez vide pour l'utiliser sur toutes les "
                                               "démarches."))

    def __init__(self, *args, procedures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.procedures = {str(p.pk): p for p in procedures}
        self.fields["definition"].choices = [("", _("Toutes les démarches"))] + [
            (pk, p.title) for pk, p in self.procedures.items()]


def bound_form_for(name: str, data: dict, *, dossier, user):
    """Re-build the form `name` of the dossier page bound to what was posted."""
    from . import processing

    if name == "message":
        return MessageForm(data)
    if name == "annotation":
        return AnnotationForm(data)
    if name == "opinion":
        return OpinionRequestForm(data, services=processing.opinion_services(dossier))
    if name == "assign":
        return AssignForm(data, processors=processing.processors_of(dossier))
    if name.startswith("opinion-"):
        return OpinionAnswerForm(data, prefix=name)
    return None
