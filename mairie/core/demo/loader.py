"""Load (or refresh) the demo collectivité, idempotently.

This is a seeding tool, like a data migration: it writes the kernel's models directly instead of
going through each app's `services.py`, because those require an administrator as actor and the
demo is what creates the first administrator. It still leaves one audit event (`demo.load`) per
run in the organisation's chain, saying what it created.

Every row is found again by a natural key (organisation slug, service slug, e-mail address,
user + service + role), so running it twice changes nothing the second time; fields a tester
may have changed through the UI (passwords, TOTP authenticators) are never overwritten.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.text import slugify
from faker import Faker

from mairie.core.audit.services import record_event
from mairie.core.organisation.models import Membership, Role, Service
from mairie.core.tenancy.models import Organisation, OrganisationHost

from . import data


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class DemoAccount:
    """One line of the printed table of demo accounts."""

    email: str
    name: str
    kind: str  # "agent", "habitant", "bénévole", "association", "super-administrateur"
    roles: tuple[tuple[str, str], ...] = ()  # (role label, service name)
    fixed: bool = False  # its e-mail address is documented in docs/demo.md


@dataclass
class DemoResult:
    organisation: Organisation
    accounts: list[DemoAccount]
    created: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class DemoPeople:
    staff: tuple[Person, ...]
    volunteers: tuple[Person, ...]
    residents: tuple[Person, ...]


def generate_people() -> DemoPeople:
    """The demo's people, always the same ones: Faker is seeded and called in a fixed order."""
    fake = Faker("fr_FR")
    fake.seed_instance(data.FAKER_SEED)
    taken = {data.SUPERUSER_EMAIL, data.RESIDENT_FIXED_EMAIL, data.VOLUNTEER_FIXED_EMAIL}
    taken.update(spec.email for spec in data.STAFF if spec.email)

    def person(domain: str, fixed_email: str | None, feminine: bool = False) -> Person:
        first = fake.first_name_female() if feminine else fake.first_name()
        last = fake.last_name()
        # Fictional mobile range reserved by ARCEP: 06 39 98 00 00 to 06 39 98 99 99.
        phone = f"06 39 98 {fake.random_int(0, 99):02d} {fake.random_int(0, 99):02d}"
        if fixed_email:
            return Person(first, last, fixed_email, phone)
        local = f"{slugify(first)}.{slugify(last)}"
        email, n = f"{local}@{domain}", 1
        while email in taken:
            n += 1
            email = f"{local}{n}@{domain}"
        taken.add(email)
        return Person(first, last, email, phone)

    staff = tuple(person(data.AGENT_DOMAIN, spec.email, spec.feminine) for spec in data.STAFF)
    volunteers = tuple(
        person(data.RESIDENT_DOMAIN, data.VOLUNTEER_FIXED_EMAIL if i == 0 else None)
        for i in range(data.VOLUNTEER_COUNT)
    )
    residents = tuple(
        person(data.RESIDENT_DOMAIN, data.RESIDENT_FIXED_EMAIL if i == 0 else None)
        for i in range(data.RESIDENT_COUNT)
    )
    return DemoPeople(staff, volunteers, residents)


def load_demo() -> DemoResult:
    """Create or refresh the Commune de Valmont and its accounts; returns what to print."""
    people = generate_people()
    mayor = next(
        p
        for p, s in zip(people.staff, data.STAFF, strict=True)
        if s.role == Role.ELECTED and s.email == "maire@valmont.example"
    )
    created: Counter = Counter()
    accounts: list[DemoAccount] = []
    # One hash for everyone: hashing ~100 times with PBKDF2 would take most of a minute.
    password_hash = make_password(data.DEMO_PASSWORD)

    with transaction.atomic():
        org = _organisation(legal_representative=f"{mayor.full_name}, maire", created=created)
        services = _services(org, created)

        for person, spec in zip(people.staff, data.STAFF, strict=True):
            user = _account(person, org, password_hash, created)
            _, was_created = Membership.objects.get_or_create(
                user=user,
                service=services[spec.service],
                role=spec.role,
                defaults={"organisation": org},
            )
            created["memberships"] += was_created
            _enrol_totp(user, created)
            accounts.append(
                DemoAccount(
                    person.email,
                    person.full_name,
                    "agent",
                    ((str(Role(spec.role).label), services[spec.service].name),),
                    bool(spec.email),
                )
            )

        for name, email in data.ASSOCIATIONS:
            association = Person(name, "", email, "")
            _account(association, org, password_hash, created)
            accounts.append(DemoAccount(email, name, "association", fixed=True))

        for person in people.volunteers:
            _account(person, org, password_hash, created)
            accounts.append(
                DemoAccount(
                    person.email,
                    person.full_name,
                    "bénévole",
                    fixed=person.email == data.VOLUNTEER_FIXED_EMAIL,
                )
            )

        for person in people.residents:
            _account(person, org, password_hash, created)
            accounts.append(
                DemoAccount(
                    person.email,
                    person.full_name,
                    "habitant",
                    fixed=person.email == data.RESIDENT_FIXED_EMAIL,
                )
            )

        superuser = _account(
            Person("Administrateur", "de la plateforme", data.SUPERUSER_EMAIL, ""),
            None,
            password_hash,
            created,
            superuser=True,
        )
        _enrol_totp(superuser, created)
        accounts.append(
            DemoAccount(
                data.SUPERUSER_EMAIL, superuser.get_full_name(), "super-administrateur", fixed=True
            )
        )

        record_event(
            organisation=org,
            action="demo.load",
            obj=org,
            details={"created": {k: n for k, n in sorted(created.items()) if n}},
        )
        # The ready-made procedures and their dossiers (idempotent, see procedures/demo.py).
        from mairie.procedures.demo import load_procedures_demo

        load_procedures_demo(org, resident_emails=[p.email for p in people.residents])
        # The citizen records met at the counter (idempotent, see crm/demo.py).
        from mairie.crm.demo import load_crm_demo

        load_crm_demo(org, resident_emails=[p.email for p in people.residents])
        # Appointments and the booking of rooms, vehicles, equipment (issue 6; idempotent,
        # see appointments/demo.py and booking/demo.py).
        from mairie.appointments.demo import load_appointments_demo
        from mairie.booking.demo import load_booking_demo

        load_appointments_demo(org, resident_emails=[p.email for p in people.residents])
        load_booking_demo(org)
    return DemoResult(org, accounts, created)


def _organisation(*, legal_representative: str, created: Counter) -> Organisation:
    slug = data.ORGANISATION["slug"]
    # Only one organisation may be the default (database constraint): the demo takes the role.
    Organisation.objects.filter(is_default=True).exclude(slug=slug).update(is_default=False)
    defaults = {k: v for k, v in data.ORGANISATION.items() if k != "slug"}
    org, was_created = Organisation.objects.update_or_create(
        slug=slug,
        defaults={**defaults, "is_default": True, "legal_representative": legal_representative},
    )
    created["organisations"] += was_created
    for host in data.HOSTS:
        _, host_created = OrganisationHost.objects.update_or_create(
            host=host, defaults={"organisation": org}
        )
        created["hosts"] += host_created
    return org


def _services(org: Organisation, created: Counter) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for spec in data.SERVICES:  # parents come before their children in data.SERVICES
        service, was_created = Service.objects.update_or_create(
            organisation=org,
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "parent": services[spec.parent] if spec.parent else None,
                "email": f"{spec.slug}@{data.AGENT_DOMAIN}",
            },
        )
        created["services"] += was_created
        services[spec.slug] = service
    return services


def _account(
    person: Person,
    org: Organisation | None,
    password_hash: str,
    created: Counter,
    *,
    superuser: bool = False,
):
    """The user with `person`'s address, refreshed to the demo's names; its address verified.
    The password is only set at creation, so a tester's new password survives a reload."""
    from allauth.account.models import EmailAddress

    User = get_user_model()
    defaults = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "organisation": org,
        "phone": person.phone,
        "is_active": True,
        "is_staff": superuser,
        "is_superuser": superuser,
    }
    user, was_created = User.objects.update_or_create(
        email=person.email,
        defaults=defaults,
        create_defaults={**defaults, "password": password_hash},
    )
    created["users"] += was_created
    _, address_created = EmailAddress.objects.update_or_create(
        user=user, email=person.email, defaults={"verified": True, "primary": True}
    )
    created["verified_addresses"] += address_created
    return user


def _enrol_totp(user, created: Counter) -> None:
    """Give the user the demo TOTP authenticator, unless they already have one."""
    from allauth.mfa.totp.internal.auth import TOTP

    from mairie.core.accounts.queries import has_totp

    if not has_totp(user):
        TOTP.activate(user, data.DEMO_TOTP_SECRET)
        created["totp_authenticators"] += 1


def current_totp_code(secret: str = data.DEMO_TOTP_SECRET) -> tuple[str, int]:
    """The code an authenticator app shows now for `secret`, and the seconds it stays valid."""
    import time

    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    now = int(time.time())
    period = app_settings.TOTP_PERIOD
    return (format_hotp_value(hotp_value(secret, now // period)), period - now % period)


def otpauth_uri(secret: str = data.DEMO_TOTP_SECRET) -> str:
    """The URI an authenticator app imports (the content of the QR code it would scan)."""
    from urllib.parse import quote

    label = quote(f"{data.TOTP_ISSUER}:Valmont")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(data.TOTP_ISSUER)}"
