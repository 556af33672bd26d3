"""The few fixed forms of the filing pages (the procedure's own pages come from
`schema.build_page_form`)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class AnonymousEmailForm(forms.Form):
    """Where an applicant without an account wants the confirmation and tracking link."""

    email = forms.EmailField(
        label=_("Votre adresse électronique"), required=False,
        help_text=_("Facultatif : pour recevoir la confirmation et le lien de suivi. "
                    "Sans adresse, notez le lien de suivi affiché après l'envoi."),
        error_messages={"invalid": _("Saisissez une adresse électronique valide, par exemple "
                                     "nom@exemple.fr.")})
