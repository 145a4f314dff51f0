"""Browser forms: logging in here; the admin's settings pages in the modules beside it."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tenants import ratelimit


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form by email, with attempts limited per address and email.

    Every attempt counts (atomically, so parallel guesses are counted too); a successful one
    clears its address-and-email counter. Over a limit, the password is not even checked.
    """

    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    throttled = False

    def clean(self) -> dict[str, Any]:
        email = (self.cleaned_data.get("username") or "").strip().lower()
        if self.request is not None and email:
            ip = ratelimit.client_ip(self.request)
            verdict = ratelimit.hit(
                [
                    ("login", f"{ip}|{email}", ratelimit.rate("login")),
                    ("login_ip", ip, ratelimit.rate("login_ip")),
                ]
            )
            if not verdict.allowed:
                self.throttled = True
                minutes = max(1, -(-verdict.retry_after // 60))
                raise forms.ValidationError(
                    _(
                        "Too many login attempts. Try again in %(minutes)d minutes, or reset"
                        " your password."
                    ),
                    code="throttled",
                    params={"minutes": minutes},
                )
            cleaned = super().clean()
            ratelimit.reset("login", f"{ip}|{email}", ratelimit.rate("login"))
            return cleaned
        return super().clean()
