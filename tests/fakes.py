"""Stand-ins for the outside world, plugged in where production plugs in Twilio and the email
provider: the SMS and email backends chosen in settings. Nothing of Puntual's own is faked."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from reminders.channels.sms import SMSBackend


@dataclass
class Sent:
    to: str
    body: str
    provider_id: str


class ScriptedSMSBackend(SMSBackend):
    """Answers each send with the next scripted outcome: None sends, an exception is raised."""

    script: ClassVar[list[BaseException | None]] = []
    sent: ClassVar[list[Sent]] = []
    calls: ClassVar[int] = 0

    @classmethod
    def reset(cls, script: Sequence[BaseException | None] = ()) -> None:
        cls.script, cls.sent, cls.calls = list(script), [], 0

    def send(self, *, to: str, body: str, status_callback: str = "", sender: str = "") -> str:
        type(self).calls += 1
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        provider_id = f"SM{uuid.uuid4().hex}"
        self.sent.append(Sent(to=to, body=body, provider_id=provider_id))
        return provider_id


class ScriptedEmailBackend(BaseEmailBackend):
    script: ClassVar[list[BaseException | None]] = []
    sent: ClassVar[list[EmailMessage]] = []

    @classmethod
    def reset(cls, script: Sequence[BaseException | None] = ()) -> None:
        cls.script, cls.sent = list(script), []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            outcome = self.script.pop(0) if self.script else None
            if outcome is not None:
                raise outcome
            self.sent.append(message)
        return len(email_messages)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
