"""What the demo collectivité is made of.

Everything a tester types (e-mail addresses of the accounts that matter, the password, the TOTP
secret) is fixed here so that docs/demo.md stays true. Everything else (the names of the people,
the other addresses, phone numbers) comes from Faker fr_FR seeded with `FAKER_SEED`, so the demo
looks real and is the same on every machine (Faker is pinned in requirements.lock).

All addresses use the `.example` top-level domain (RFC 2606) and phone numbers the ranges ARCEP
reserves for fiction, so no real person can be reached from the demo.
"""

from __future__ import annotations

from dataclasses import dataclass

from mairie.core.organisation.models import Role

#: One password for every demo account (documented in docs/demo.md).
DEMO_PASSWORD = "valmont-demo-2026"

#: One TOTP secret for every demo account: add it once to an authenticator app, or read the
#: current code with `python -m mairie demo --totp`. Same value as the test factories use.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOTP_ISSUER = "Mairie (démo)"

FAKER_SEED = 2026

#: The platform super-administrator (no organisation, reaches /admin/).
SUPERUSER_EMAIL = "admin@valmont.example"

AGENT_DOMAIN = "valmont.example"
RESIDENT_DOMAIN = "habitants.example"

ORGANISATION = {
    "slug": "valmont",
    "name": "Commune de Valmont",
    "kind": "commune",
    "country": "FR",
    "population": 12184,
    "time_zone": "Europe/Paris",
    "primary_colour": "#000091",
    "secondary_colour": "#e1000f",
    "address": "Hôtel de ville\n1 place de la Mairie\n99150 Valmont",
    "phone": "01 99 00 12 34",
    "email": "mairie@valmont.example",
    "website": "https://www.valmont.example",
    "siret": "21999999200007",
    "dpo_name": "Service mutualisé RGPD du centre de gestion",
    "dpo_email": "dpo@valmont.example",
    "host_name": "Commune de Valmont, serveur hébergé en mairie, 1 place de la Mairie, "
    "99150 Valmont",
    "accessibility_status": "partial",
    "personal_data_retention_months": 36,
}
#: `legal_representative` is the mayor's name, known once the people are generated.
HOSTS = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class ServiceSpec:
    slug: str
    name: str
    parent: str | None
    description: str


SERVICES = (
    ServiceSpec(
        "direction-generale",
        "Direction générale",
        None,
        "Direction générale des services, cabinet du maire et élus.",
    ),
    ServiceSpec(
        "accueil-etat-civil",
        "Accueil et état civil",
        "direction-generale",
        "Accueil du public, état civil, élections, cimetière, espace France Services.",
    ),
    ServiceSpec(
        "urbanisme",
        "Urbanisme",
        "direction-generale",
        "Permis de construire, déclarations préalables, cadastre, PLU.",
    ),
    ServiceSpec(
        "services-techniques",
        "Services techniques",
        "direction-generale",
        "Voirie, espaces verts, bâtiments, propreté, signalements.",
    ),
    ServiceSpec(
        "action-sociale",
        "Action sociale / CCAS",
        "direction-generale",
        "Centre communal d'action sociale : aides, seniors, logement, solidarité.",
    ),
    ServiceSpec(
        "developpement-economique",
        "Développement économique",
        "direction-generale",
        "Commerces, entreprises, marchés, aides d'urgence aux entreprises.",
    ),
    ServiceSpec(
        "ressources-humaines",
        "Ressources humaines",
        "direction-generale",
        "Carrières, paie, formation, télétravail.",
    ),
    ServiceSpec(
        "numerique",
        "Numérique",
        "direction-generale",
        "Systèmes d'information, postes de travail, plateforme Mairie.",
    ),
)


@dataclass(frozen=True)
class StaffSpec:
    """One agent: the service and role they hold, and a fixed e-mail when testers need one."""

    service: str
    role: str
    email: str | None = None  # None: prénom.nom@valmont.example from the generated name
    feminine: bool = False  # the fixed address says "adjointe": the name must agree


STAFF = (
    StaffSpec("direction-generale", Role.DIRECTOR, "dgs@valmont.example"),
    StaffSpec("direction-generale", Role.ELECTED, "maire@valmont.example"),
    StaffSpec("direction-generale", Role.AGENT),
    StaffSpec("accueil-etat-civil", Role.MANAGER, "chef.accueil@valmont.example"),
    StaffSpec("accueil-etat-civil", Role.AGENT, "agent.accueil@valmont.example"),
    StaffSpec("accueil-etat-civil", Role.AGENT),
    StaffSpec("accueil-etat-civil", Role.MEDIATOR, "mediateur@valmont.example"),
    StaffSpec("urbanisme", Role.MANAGER),
    StaffSpec("urbanisme", Role.AGENT),
    StaffSpec("urbanisme", Role.AGENT),
    StaffSpec("services-techniques", Role.MANAGER),
    StaffSpec("services-techniques", Role.AGENT),
    StaffSpec("services-techniques", Role.AGENT),
    StaffSpec("services-techniques", Role.AGENT),
    StaffSpec("action-sociale", Role.MANAGER),
    StaffSpec("action-sociale", Role.AGENT),
    StaffSpec("action-sociale", Role.AGENT),
    StaffSpec("action-sociale", Role.ELECTED, "adjointe.solidarites@valmont.example", True),
    StaffSpec("developpement-economique", Role.MANAGER),
    StaffSpec("developpement-economique", Role.AGENT),
    StaffSpec("ressources-humaines", Role.MANAGER),
    StaffSpec("ressources-humaines", Role.AGENT),
    StaffSpec("numerique", Role.MANAGER),
    StaffSpec("numerique", Role.ADMINISTRATOR, "dsi@valmont.example"),
    StaffSpec("numerique", Role.AGENT),
)

#: Associations have no model yet (the solidarity module will add one): until then each is a
#: resident account whose name is the association's (decision record 0200).
ASSOCIATIONS = (
    ("Secours populaire de Valmont", "contact@secours-populaire-valmont.example"),
    ("Les Amis de la médiathèque de Valmont", "contact@amis-mediatheque-valmont.example"),
    ("Club des aînés de Valmont", "contact@aines-valmont.example"),
    ("Valmont Entraide Numérique", "contact@entraide-numerique-valmont.example"),
)

#: Volunteers are resident accounts too; the first has a fixed address for testers.
VOLUNTEER_COUNT = 6
VOLUNTEER_FIXED_EMAIL = "benevole@habitants.example"

#: Plain residents; the first has a fixed address for testers.
RESIDENT_COUNT = 60
RESIDENT_FIXED_EMAIL = "habitant@habitants.example"
