"""Anti-abuse on the residents' forms (booking, waiting list): rate limits per IP address and
per e-mail address, kept in the cache, and the accessible human check that appears only past
them (decision 0481).

The limits are `settings.APPOINTMENTS_RATE_LIMITS`: for each scope ("book", "waiting_list"),
for each key ("ip", "email"), a pair (attempts, seconds). Every POST counts, valid or not.
Past a limit the form asks a short question in words (« Combien font deux plus cinq ? »),
signed so that it cannot be chosen, single use so that an answer cannot be replayed. It needs
no image, no sound, no script and no third party."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mairie.core.audit.services import client_ip

logger = logging.getLogger("mairie.appointments")

DEFAULT_LIMITS = {
    "book": {"ip": (20, 3600), "email": (5, 3600)},
    "waiting_list": {"ip": (10, 3600), "email": (3, 3600)},
}
CHECK_SALT = "mairie.appointments.human-check"
CHECK_MAX_AGE = 30 * 60  # seconds to answer a question

NUMBER_WORDS = [gettext_lazy("zéro"), gettext_lazy("un"), gettext_lazy("deux"),
                gettext_lazy("trois"), gettext_lazy("quatre"), gettext_lazy("cinq"),
                gettext_lazy("six"), gettext_lazy("sept"), gettext_lazy("huit"),
                gettext_lazy("neuf"), gettext_lazy("dix"), gettext_lazy("onze"),
                gettext_lazy("douze"), gettext_lazy("treize"), gettext_lazy("quatorze"),
                gettext_lazy("quinze"), gettext_lazy("seize"), gettext_lazy("dix-sept"),
                gettext_lazy("dix-huit")]


def limits(scope: str) -> dict:
    configured = getattr(settings, "APPOINTMENTS_RATE_LIMITS", {}) or {}
    return {**DEFAULT_LIMITS.get(scope, {}), **configured.get(scope, {})}


def _count(key: str, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=window)
        return 1


def over_limit(scope: str, *, request: HttpRequest | None, email: str = "") -> bool:
    """Count this attempt against the scope's limits; True when one of them is exceeded."""
    over = False
    values = {"ip": client_ip(request) or "", "email": (email or "").strip().lower()}
    for kind, value in values.items():
        rule = limits(scope).get(kind)
        if not value or not rule:
            continue
        attempts, window = rule
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        if _count(f"appointments:rate:{scope}:{kind}:{digest}", int(window)) > attempts:
            over = True
    if over:
        logger.info("appointments: rate limit of %s exceeded, human check asked", scope)
    return over


# --- The human check ---------------------------------------------------------------------


@dataclass
class Question:
    token: str
    text: str


def new_question() -> Question:
    first, second = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    token = signing.dumps({"a": first, "b": second, "n": secrets.token_urlsafe(12)},
                          salt=CHECK_SALT)
    return Question(token=token, text=question_text(first, second))


def question_text(first: int, second: int) -> str:
    return _("Combien font %(first)s plus %(second)s ?") % {
        "first": NUMBER_WORDS[first], "second": NUMBER_WORDS[second]}


def _as_number(answer: str) -> int | None:
    answer = " ".join((answer or "").strip().lower().split()).replace(" ", "-")
    if answer.isdigit():
        return int(answer)
    for number, word in enumerate(NUMBER_WORDS):
        if answer == str(word).lower():
            return number
    return None


def answer_is_right(token: str, answer: str) -> bool:
    """The answer to the signed question `token`, not expired and not used before."""
    try:
        question = signing.loads(token, salt=CHECK_SALT, max_age=CHECK_MAX_AGE)
        expected = int(question["a"]) + int(question["b"])
        nonce = str(question["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return False
    if _as_number(answer) != expected:
        return False
    used = hashlib.sha256(nonce.encode()).hexdigest()[:32]  # a safe cache key, whatever n is
    return cache.add(f"appointments:check-used:{used}", 1, timeout=CHECK_MAX_AGE * 2)


@dataclass
class Guard:
    """What the page does with a POST: go on (`passed`), or show `question` (with `error`)."""

    passed: bool
    required: bool = False
    question: Question | None = None
    error: str = ""


def guard(scope: str, request: HttpRequest, *, email: str = "") -> Guard:
    """Count the POST; past the limits, it goes on only with the right answer to the signed
    question it carries. Either way a page shown again carries a new question."""
    if not over_limit(scope, request=request, email=email):
        return Guard(passed=True)
    token = request.POST.get("check-token", "")
    answer = request.POST.get("check-answer", "")
    if token and answer_is_right(token, answer):
        return Guard(passed=True, required=True, question=new_question())
    if token:
        error = _("La réponse à la question de vérification n'est pas la bonne. Répondez à "
                  "la nouvelle question, en chiffres.")
    else:
        error = _("Beaucoup de demandes viennent d'être faites depuis votre connexion ou avec "
                  "cette adresse électronique. Pour continuer, répondez à la question de "
                  "vérification.")
    return Guard(passed=False, required=True, question=new_question(), error=error)
