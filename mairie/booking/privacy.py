"""What the booking of rooms, vehicles and equipment declares about personal data (GDPR art.
30), an agent's reservations and loans in their copy of their data (« Mes données »), and
their erasure: the booker and the borrower go, the resources' history stays (decision
0493)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mairie.core.privacy.registry import ProcessingActivity, iso, register


def _reservations(user, organisation) -> list[dict]:
    from .models import Reservation

    return [{"resource": r.resource.name, "kind": r.resource.get_kind_display(),
             "title": r.title, "start": iso(r.start), "end": iso(r.end),
             "state": r.get_state_display(), "recurring": r.series_id is not None,
             "booked_at": iso(r.created_at), "refusal_reason": r.refusal_reason or None,
             "cancelled_at": iso(r.cancelled_at)}
            for r in Reservation.objects.filter(organisation=organisation, booker=user)
            .select_related("resource").order_by("start")]


def _loans(user, organisation) -> list[dict]:
    from .models import Loan

    return [{"item": loan.resource.name, "inventory_number": loan.resource.inventory_number,
             "checked_out_at": iso(loan.checked_out_at), "due_on": iso(loan.due_on),
             "returned_at": iso(loan.returned_at), "condition_out": loan.condition_out,
             "condition_in": loan.condition_in}
            for loan in Loan.objects.filter(organisation=organisation, borrower=user)
            .select_related("resource").order_by("checked_out_at")]


def erase_reservations(user, organisation) -> dict:
    """Past, cancelled and refused reservations (and the series) lose their booker; those
    still to come keep it, since the room is held for them: cancel them first if the person
    has left. The secret agenda link goes."""
    from django.utils.translation import gettext as _

    from .models import FeedToken, Reservation, ReservationSeries

    now = timezone.now()
    mine = Reservation.objects.filter(organisation=organisation, booker=user)
    current = mine.filter(state__in=Reservation.ACTIVE_STATES, end__gt=now)
    kept_count = current.count()
    erased_count = mine.exclude(pk__in=current.values("pk")).update(booker=None,
                                                                    updated_at=now)
    ReservationSeries.objects.filter(organisation=organisation, booker=user).exclude(
        reservations__in=current).update(booker=None, updated_at=now)
    feeds, _rows = FeedToken.objects.filter(organisation=organisation, user=user).delete()
    erased = []
    if erased_count:
        erased.append(_("%(n)s réservations passées ou annulées détachées de la personne "
                        "(l'historique des ressources reste, sans nom)") % {"n": erased_count})
    if feeds:
        erased.append(_("lien secret d'agenda supprimé"))
    kept = [_("%(n)s réservations à venir gardent leur réservant tant qu'elles tiennent la "
              "ressource : annulez-les si la personne est partie.") % {"n": kept_count}] \
        if kept_count else []
    return {"erased": [str(e) for e in erased], "kept": [str(k) for k in kept]}


def erase_loans(user, organisation) -> dict:
    """Returned loans lose their borrower; an item still out keeps it until it comes back
    (the collectivité must know who holds its equipment)."""
    from django.utils.translation import gettext as _

    from .models import Loan

    now = timezone.now()
    mine = Loan.objects.filter(organisation=organisation, borrower=user)
    kept_count = mine.filter(returned_at__isnull=True).count()
    erased_count = mine.filter(returned_at__isnull=False).update(borrower=None,
                                                                 updated_at=now)
    erased = [_("%(n)s prêts rendus détachés de la personne") % {"n": erased_count}] \
        if erased_count else []
    kept = [_("%(n)s prêts en cours gardent l'emprunteur jusqu'au retour du matériel.")
            % {"n": kept_count}] if kept_count else []
    return {"erased": [str(e) for e in erased], "kept": [str(k) for k in kept]}


def register_privacy() -> None:
    register(ProcessingActivity(
        key="booking.reservations", module="booking",
        name=_("Réservations de salles, véhicules et matériel"),
        purpose=_("Partager les salles, les véhicules et le matériel entre les agents : "
                  "réserver, valider, éviter les doubles réservations."),
        legal_basis=_("Intérêt légitime de la collectivité employeur et mission de service "
                      "public (RGPD art. 6.1.e)."),
        data_subjects=_("Agents et élus qui réservent ou valident."),
        data_categories=_("Nom du réservant, ressource, objet, dates, état, décision et son "
                          "motif."),
        recipients=_("Les agents du service gestionnaire et des valideurs ; les directeurs "
                     "et administrateurs."),
        retention=_("Tant que la ressource existe (historique d'usage) ; le nom du réservant "
                    "est retiré des réservations passées sur demande ou au départ de "
                    "l'agent."),
        security=_("Visibles selon les droits par service et rôle ; réservations et "
                   "décisions journalisées ; flux d'agenda par lien secret révocable."),
        export=_reservations, erase=erase_reservations))
    register(ProcessingActivity(
        key="booking.loans", module="booking", name=_("Prêts de matériel aux agents"),
        purpose=_("Savoir qui détient le matériel prêté (ordinateurs de télétravail, "
                  "vidéoprojecteurs) et le faire revenir."),
        legal_basis=_("Intérêt légitime de la collectivité employeur (RGPD art. 6.1.f)."),
        data_subjects=_("Agents à qui du matériel est prêté."),
        data_categories=_("Nom de l'emprunteur, matériel, dates de prêt, de retour prévu et "
                          "effectif, état au départ et au retour."),
        recipients=_("Le service gestionnaire du matériel ; les directeurs et "
                     "administrateurs."),
        retention=_("Tant que le matériel est inventorié ; l'emprunteur est retiré des prêts "
                    "rendus sur demande ou au départ de l'agent."),
        security=_("Prêts et retours journalisés ; lecture par le service gestionnaire et "
                   "l'emprunteur."),
        export=_loans, erase=erase_loans))
