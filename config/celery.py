"""The Celery app. Beat runs on UTC; the schedule lives in settings.CELERY_BEAT_SCHEDULE."""

import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("puntual")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender: Task | None = None, **kwargs: Any) -> None:
    """Around every task, what Django does around every request: close the database
    connections that CONN_MAX_AGE retires or that errors left unusable, and keep the others
    (CONN_HEALTH_CHECKS checks a kept one before its next use). Celery's own rule, a new
    connection for every task, is set out of the way by CELERY_DB_REUSE_MAX.

    Not for a task run eagerly: that one runs inside its caller (a test's transaction)."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
