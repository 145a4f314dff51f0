from typing import Any

from django.apps import AppConfig


class HooksConfig(AppConfig):
    """Outbound webhooks: signed HTTPS notifications of a business's events to its endpoints."""

    name = "hooks"

    def ready(self) -> None:
        from django.db import transaction
        from django.db.models.signals import post_delete, post_save

        from hooks.models import WebhookEndpoint
        from hooks.services import subscriptions_forget

        def forget(sender: Any, instance: WebhookEndpoint, **kwargs: Any) -> None:
            # Now for this transaction, and again once committed (for this process's others).
            subscriptions_forget(instance.tenant_id)
            transaction.on_commit(lambda: subscriptions_forget(instance.tenant_id))

        post_save.connect(
            forget, sender=WebhookEndpoint, weak=False, dispatch_uid="hooks-forget-saved"
        )
        post_delete.connect(
            forget, sender=WebhookEndpoint, weak=False, dispatch_uid="hooks-forget-deleted"
        )
