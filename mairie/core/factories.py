"""factory_boy factories of the kernel, shared by every app's tests."""

import factory
from django.contrib.auth import get_user_model

from mairie.core.organisation.models import Membership, Role, Service
from mairie.core.tenancy.models import Organisation, OrganisationHost

DEFAULT_PASSWORD = "motdepasse-solide-42"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Commune de Testville {n}")
    slug = factory.Sequence(lambda n: f"testville-{n}")
    email = factory.LazyAttribute(lambda o: f"contact@{o.slug}.example")

    @factory.post_generation
    def hosts(self, create, extracted, **kwargs):
        if create and extracted:
            for host in extracted:
                OrganisationHost.objects.create(organisation=self, host=host)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@example.org")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    organisation = factory.SubFactory(OrganisationFactory)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        """Register the address as verified, as allauth expects for a usable account."""
        if create and extracted is not False:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.update_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True})


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    service = factory.SubFactory(ServiceFactory)
    organisation = factory.LazyAttribute(lambda m: m.service.organisation)
    user = factory.SubFactory(UserFactory,
                              organisation=factory.SelfAttribute("..service.organisation"))
    role = Role.AGENT


def agent_factory(*, service, role=Role.AGENT, totp=True, **kwargs):
    """A user of `service`'s organisation holding `role` in it, TOTP enrolled by default
    (agents cannot reach the workspace without it)."""
    user = UserFactory(organisation=service.organisation, **kwargs)
    MembershipFactory(service=service, user=user, role=role)
    if totp:
        enrol_totp(user)
    return user


DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol_totp(user, secret: str = DEMO_TOTP_SECRET) -> str:
    """Give `user` a TOTP authenticator (as if enrolled in the UI); returns the secret."""
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, secret)
    return secret


def current_totp_code(secret: str = DEMO_TOTP_SECRET) -> str:
    """The code an authenticator app would show now for `secret`."""
    import time

    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))
