"""How money is collected: a small provider interface, and the provider this release ships.

A provider turns "collect this amount" into a payment record the ledger can keep. The
"recorded by staff" provider collects nothing itself: a receptionist took cash or a card at
the desk and writes down how (and a receipt or transaction reference). A card provider later
implements the same `collect` (and may answer asynchronously through a webhook that calls the
same services).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Protocol

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from policies.choices import PaymentMethod


@dataclass(frozen=True)
class PaymentRecord:
    provider: str
    method: str
    reference: str


class PaymentProvider(Protocol):
    name: ClassVar[str]

    def collect(
        self, *, amount: Decimal, currency: str, method: str, reference: str
    ) -> PaymentRecord:
        """Collect `amount` or raise ValidationError (field errors); never partially."""
        ...


# What staff may say they took: money that moved at the desk or by transfer.
STAFF_METHODS = (
    PaymentMethod.CASH,
    PaymentMethod.CARD,
    PaymentMethod.TRANSFER,
    PaymentMethod.OTHER,
)


class RecordedByStaff:
    """A payment staff received outside Puntual and record here."""

    name: ClassVar[str] = "staff"

    def collect(
        self, *, amount: Decimal, currency: str, method: str, reference: str
    ) -> PaymentRecord:
        if method not in STAFF_METHODS:
            raise ValidationError(
                {"method": [_("Choose how the client paid: cash, card, transfer or other.")]}
            )
        if method == PaymentMethod.OTHER and not reference.strip():
            raise ValidationError(
                {"reference": [_("Say how the client paid, or give a receipt number.")]}
            )
        return PaymentRecord(provider=self.name, method=method, reference=reference.strip())


RECORDED_BY_STAFF = RecordedByStaff()
