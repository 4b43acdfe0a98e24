"""The Celery application. Broker from CELERY_BROKER_URL; without one, tasks run eagerly in-process."""

import logging
import os

from celery import Celery, bootsteps
from django.db import transaction

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
