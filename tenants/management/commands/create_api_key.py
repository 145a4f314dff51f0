from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from tenants.models import ApiKeyRole, Business
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a business and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--business", required=True, help="the business's slug")
        parser.add_argument("--role", default=ApiKeyRole.ADMIN, choices=ApiKeyRole.values)
        parser.add_argument("--name", default="Command line")

    def handle(self, *args: Any, **options: Any) -> None:
        business = Business.objects.filter(slug=options["business"]).first()
        if business is None:
            raise CommandError(f"No business with slug {options['business']!r}.")
        with scope(tenant=business):
            key, raw_key = api_key_create(
                tenant=business, name=options["name"], role=options["role"]
            )
        self.stderr.write(
            f"API key {key.name!r} ({key.role}) for {business.name}. It is shown only now:"
        )
        self.stdout.write(raw_key)
