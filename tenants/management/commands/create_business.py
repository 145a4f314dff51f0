from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenants.services import business_create


class Command(BaseCommand):
    help = "Create a business with its first location and its owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--timezone", required=True, help="IANA name, e.g. Europe/Madrid")
        parser.add_argument("--language", default="es", choices=["es", "en"])
        parser.add_argument("--currency", default="EUR", help="ISO 4217 code")
        parser.add_argument(
            "--country", default="ES", help="ISO 3166 code, for reading phone numbers"
        )
        parser.add_argument("--owner-email", required=True)
        parser.add_argument(
            "--base-url",
            default="http://localhost:8000",
            help="Where Puntual is served, to print the owner's set-password link.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            business, owner, created = business_create(
                name=options["name"],
                slug=options["slug"],
                timezone_name=options["timezone"],
                owner_email=options["owner_email"],
                language=options["language"],
                currency=options["currency"].upper(),
                country=options["country"].upper(),
            )
        except ValidationError as exc:
            lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
            raise CommandError("Nothing was created.\n" + "\n".join(lines)) from exc
        except IntegrityError as exc:
            raise CommandError(
                "Nothing was created: a business with that slug already exists."
            ) from exc

        self.stdout.write(
            self.style.SUCCESS(f"Created business {business.name} ({business.slug}).")
        )
        if created:
            uid = urlsafe_base64_encode(force_bytes(owner.pk))
            token = default_token_generator.make_token(owner)
            path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
            self.stdout.write(
                f"Owner {owner.email} was created. Set the password here (works once):"
            )
            self.stdout.write(options["base_url"].rstrip("/") + path)
        else:
            self.stdout.write(f"Existing user {owner.email} is the owner.")
