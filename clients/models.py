from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.phones import display_phone
from tenants.models import TenantOwnedModel


class Client(TenantOwnedModel):
    """A person who books. Phone in E.164; email lower-cased; each unique per business."""

    name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty: the business's language."),
    )
    notes = models.TextField(_("notes"), blank=True)
    sms_consent = models.BooleanField(_("accepts SMS"), default=False)
    email_consent = models.BooleanField(_("accepts email"), default=False)
    # Set when the email provider reports a hard bounce: this business stops emailing the
    # address until someone corrects it (the same address may work for another business).
    email_bounced_at = models.DateTimeField(_("email bounced at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Set when an admin erased the client's personal data (the appointments stay, anonymous).
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone"], condition=~Q(phone=""), name="client_unique_phone"
            ),
            models.UniqueConstraint(
                fields=["tenant", "email"], condition=~Q(email=""), name="client_unique_email"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "name"], name="client_name_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def phone_display(self) -> str:
        return display_phone(self.phone)


class ClientEventKind(models.TextChoices):
    EXPORTED = "exported", _("Data exported")
    ERASED = "erased", _("Data erased")


class ClientEvent(TenantOwnedModel):
    """Something done to a client's personal data: who, when, through which channel."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=16, choices=ClientEventKind.choices)
    actor_type = models.CharField(_("actor"), max_length=8)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=16)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("client event")
        verbose_name_plural = _("client events")
        ordering = ("at", "id")
        indexes = [models.Index(fields=["tenant", "client", "at"], name="client_event_idx")]

    def __str__(self) -> str:
        return f"{self.client_id} · {self.kind} · {self.at:%Y-%m-%d %H:%M}"
