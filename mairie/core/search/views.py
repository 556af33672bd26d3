"""The search page, shared by residents (portal) and agents (workspace)."""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from mairie.core.accounts.queries import has_totp
from mairie.core.organisation.queries import roles_of

from .forms import SearchForm
from .queries import search as search_documents

PAGE_SIZE = 20
MAX_PAGE = 50


def _page_number(request) -> int:
    try:
        return min(max(int(request.GET.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1


@require_GET
def search(request):
    """GET form, works without JavaScript. Agents see their workspace's shell and, like in the
    workspace, must have enrolled their authenticator before finding agents-only documents."""
    org = request.organisation
    is_agent = bool(roles_of(request.user, org))
    if is_agent and not has_totp(request.user):
        return redirect(reverse("mfa_activate_totp") + "?" + urlencode(
            {"next": request.get_full_path()}))
    form = SearchForm(request.GET or None)
    text, hits, page, has_next = "", [], _page_number(request), False
    if form.is_valid():
        text = form.cleaned_data["q"].strip()
        if text:
            hits = search_documents(request.user, org, text, limit=PAGE_SIZE + 1,
                                    offset=(page - 1) * PAGE_SIZE)
            has_next, hits = len(hits) > PAGE_SIZE and page < MAX_PAGE, hits[:PAGE_SIZE]
    template = "search/search_agent.html" if is_agent else "search/search_portal.html"
    return render(request, template, {
        "form": form, "text": text, "hits": hits, "page": page, "has_next": has_next,
        "first_rank": (page - 1) * PAGE_SIZE + 1,
        "previous_query": urlencode({"q": text, "page": page - 1}) if page > 1 else "",
        "next_query": urlencode({"q": text, "page": page + 1}) if has_next else "",
    })
