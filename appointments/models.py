"""Scheduling data: what is offered (services), by whom (staff), when (hours, time off),
and what was booked (appointments and their event trail).

Times of appointments are aware datetimes stored in UTC. Working hours are local wall time
of the location, because "Mondays 09:00-14:00" must stay 09:00 across daylight-saving changes.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Location, TenantOwnedModel


class ServiceMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    ONLINE = "online", _("Online")


class Service(TenantOwnedModel):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    duration_minutes = models.PositiveIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    buffer_before_minutes = models.PositiveIntegerField(
        _("buffer before (minutes)"), default=0, validators=[MaxValueValidator(240)]
    )
    buffer_after_minutes = models.PositiveIntegerField(
        _("buffer after (minutes)"), default=0, validators=[MaxValueValidator(240)]
    )
    price = models.DecimalField(
        _("price"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    mode = models.CharField(
        _("mode"), max_length=16, choices=ServiceMode.choices, default=ServiceMode.IN_PERSON
    )
    meeting_link_template = models.CharField(
        _("meeting link template"),
        max_length=500,
        blank=True,
        help_text=_("For online services, e.g. https://meet.example.com/{appointment_id}"),
    )
    color = models.CharField(_("colour"), max_length=7, default="#2f6f8f")
    is_active = models.BooleanField(_("active"), default=True)
    # Per-service overrides of the business's booking rules (empty: the business's value).
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"), null=True, blank=True
    )
    max_advance_days = models.PositiveIntegerField(
        _("maximum advance (days)"), null=True, blank=True
    )
    slot_step_minutes = models.PositiveIntegerField(
        _("slot step (minutes)"), null=True, blank=True, validators=[MinValueValidator(5)]
    )

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="service_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


class StaffMember(TenantOwnedModel):
    display_name = models.CharField(_("name"), max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_profiles",
        verbose_name=_("user account"),
    )
    services = models.ManyToManyField(
        Service, through="StaffService", related_name="staff", verbose_name=_("services")
    )
    locations = models.ManyToManyField(
        Location, through="StaffLocation", related_name="staff", verbose_name=_("locations")
    )
    color = models.CharField(_("colour"), max_length=7, default="#5b6abf")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ("display_name",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "display_name"], name="staff_unique_name"),
        ]

    def __str__(self) -> str:
        return self.display_name


# Explicit through tables so that they carry the tenant too (scoping, and distribution by tenant).
class StaffService(TenantOwnedModel):
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE)
    service = models.ForeignKey(Service, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "staff", "service"], name="staffservice_unique"
            ),
        ]


class StaffLocation(TenantOwnedModel):
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE)
    location = models.ForeignKey(Location, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "staff", "location"], name="stafflocation_unique"
            ),
        ]


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingHours(TenantOwnedModel):
    """One weekly interval in the location's wall time. Several per day make breaks."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ("weekday", "start_time")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")), name="workinghours_start_before_end"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "staff", "weekday"], name="workinghours_staff_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class TimeOff(TenantOwnedModel):
    """An absolute period (UTC) a staff member cannot be booked: vacation, a blocked afternoon."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("time off")
        verbose_name_plural = _("time off")
        ordering = ("start",)
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="timeoff_start_before_end"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "staff", "start"], name="timeoff_staff_idx")]


class BookingRules(TenantOwnedModel):
    """The business's booking rules; services may override each of them."""

    min_notice_minutes = models.PositiveIntegerField(_("minimum notice (minutes)"), default=120)
    max_advance_days = models.PositiveIntegerField(_("maximum advance (days)"), default=60)
    slot_step_minutes = models.PositiveIntegerField(
        _("slot step (minutes)"), default=15, validators=[MinValueValidator(5)]
    )

    class Meta:
        verbose_name = _("booking rules")
        verbose_name_plural = _("booking rules")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="bookingrules_one_per_business")
        ]


class AppointmentStatus(models.TextChoices):
    # A new client's online booking, waiting for the business to accept or decline it.
    REQUESTED = "requested", _("Requested")
    SCHEDULED = "scheduled", _("Scheduled")
    CONFIRMED = "confirmed", _("Confirmed")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")


# Appointments in these statuses hold their staff member's time: no other may overlap them.
# (A no-show or a cancellation frees the rest of the slot for a walk-in.) A request holds it
# too: the time the client asked for stays theirs while the business decides.
BLOCKING_STATUSES: tuple[str, ...] = (
    AppointmentStatus.REQUESTED,
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.ATTENDED,
)


class Source(models.TextChoices):
    DASHBOARD = "dashboard", _("Dashboard")
    ONLINE = "online", _("Online booking")
    API = "api", _("API")
    SMS = "sms", _("SMS")


class CancelledBy(models.TextChoices):
    CLIENT = "client", _("Client")
    STAFF = "staff", _("Staff")
    SYSTEM = "system", _("System")


class Appointment(TenantOwnedModel):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="appointments"
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    # The staff member's time this appointment holds: start - buffer before, end + buffer after,
    # with the service's buffers as they were at booking. The exclusion constraint works on it.
    blocked_start = models.DateTimeField(editable=False)
    blocked_end = models.DateTimeField(editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.SCHEDULED,
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    notes = models.TextField(_("notes"), blank=True)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    # Bumped by every reschedule: links issued for an older time stop working.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.CharField(
        _("cancelled by"), max_length=8, choices=CancelledBy.choices, blank=True
    )
    cancellation_reason = models.TextField(_("cancellation reason"), blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ("start",)
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="appointment_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(blocked_start__lte=F("start")) & Q(blocked_end__gte=F("end")),
                name="appointment_blocked_covers_service",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "staff", "blocked_start"], name="appointment_staff_time_idx"
            ),
            models.Index(fields=["tenant", "start"], name="appointment_start_idx"),
            models.Index(fields=["tenant", "client", "start"], name="appointment_client_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.client} · {self.service} · {self.start:%Y-%m-%d %H:%M} UTC"


class ActorType(models.TextChoices):
    USER = "user", _("Staff user")
    CLIENT = "client", _("Client")
    API_KEY = "api_key", _("API key")
    SYSTEM = "system", _("System")


class Channel(models.TextChoices):
    DASHBOARD = "dashboard", _("Dashboard")
    ONLINE = "online", _("Online")
    API = "api", _("API")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    SYSTEM = "system", _("System")


class EventKind(models.TextChoices):
    CREATED = "created", _("Booked")
    STATUS = "status", _("Status changed")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    ARRIVED = "arrived", _("Checked in")
    STARTED = "started", _("Started")
    FINISHED = "finished", _("Finished")
    CORRECTED = "corrected", _("Corrected")
    NOTE = "note", _("Note")
    # A request's two endings: requested → scheduled, requested → cancelled (by the business).
    ACCEPTED = "accepted", _("Request accepted")
    DECLINED = "declined", _("Request declined")


class AppointmentEvent(TenantOwnedModel):
    """One row per change of an appointment: the audit trail and the dashboard's timeline."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, choices=AppointmentStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=AppointmentStatus.choices, blank=True)
    actor_type = models.CharField(_("actor"), max_length=8, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)  # kept if the user is deleted
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment events")
        ordering = ("at", "id")
        indexes = [
            models.Index(fields=["tenant", "appointment", "at"], name="event_appointment_idx")
        ]
