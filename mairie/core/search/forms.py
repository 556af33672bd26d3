from django import forms
from django.utils.translation import gettext_lazy as _


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Termes recherchés"), max_length=200, required=False,
        widget=forms.SearchInput(attrs={"autocomplete": "off"}),
        help_text=_("Les accents et les majuscules ne comptent pas."),
    )
