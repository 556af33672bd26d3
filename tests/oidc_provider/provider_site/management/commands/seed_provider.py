"""Create the provider's users and the OAuth clients registered for Mairie."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--client", action="append", default=[],
                            help="client_id|secret|redirect URI")
        parser.add_argument("--user", action="append", default=[],
                            help="email|password|given name|family name")

    def handle(self, *args, **options):
        Application = get_application_model()
        for spec in options["client"]:
            client_id, secret, redirect_uri = spec.split("|")
            Application.objects.create(
                name=f"Mairie ({client_id})",
                client_id=client_id,
                client_secret=secret,
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                redirect_uris=redirect_uri,
                algorithm=Application.RS256_ALGORITHM,
                skip_authorization=False,
            )
        for spec in options["user"]:
            email, password, first_name, last_name = spec.split("|")
            get_user_model().objects.create_user(
                username=email, email=email, password=password,
                first_name=first_name, last_name=last_name)
