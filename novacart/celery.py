"""The Celery application. Broker from CELERY_BROKER_URL; without one, tasks run eagerly in-process."""

import logging
import os

from celery import Celery, bootsteps
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from novacart.checks import refuse_to_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novacart.settings.base")

app = Celery("novacart")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks that services queue live beside the services, apart from the scheduled jobs in tasks.py
# (orders.emails), so that neither imports the other in a cycle.
app.autodiscover_tasks(related_name="emails")

logger = logging.getLogger("novacart.tasks")


class RefuseMisconfiguredStart(bootsteps.Step):
    """The worker sends the e-mails, password-reset links among them: like gunicorn (novacart.wsgi) it
    refuses to start on what `manage.py check` reports (novacart.checks), which it never runs itself
    (Celery's Django fixup runs the checks but ignores what they find)."""

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        refuse_to_start()


app.steps["worker"].add(RefuseMisconfiguredStart)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Queues a Celery task once the current transaction commits.

    A broker that is down must not turn a committed order into a 500: the failure is
    logged with the task and its arguments, and the request goes on.
    """

    def _send():
        try:
            task.delay(*args, **kwargs)
        except Exception:
            logger.exception("could not queue task %s args=%r", task.name, args)

    transaction.on_commit(_send)


def broker_status() -> str:
    """`ok`, `unavailable`, or `not_configured` without CELERY_BROKER_URL (tasks then run in-process).

    One connection attempt, no retry, at most two seconds: it answers the health check, which Render
    gives five. The probe reads the URL from settings, which is what the app was configured with."""
    url = settings.CELERY_BROKER_URL
    if not url:
        return "not_configured"
    try:
        with app.connection_for_write(url) as connection:
            connection.ensure_connection(max_retries=0, timeout=2)
    except KombuOperationalError as exc:
        logger.warning("health check: broker unavailable: %s", exc)
        return "unavailable"
    return "ok"
