"""Settings for the real-worker integration test (tests/orders/test_celery_worker.py).

The test settings, except that tasks go through a real broker to a separately started
`celery worker`, and e-mail is written to files so the test can read what the worker sent.
The database comes from DATABASE_URL (a file both the test and the worker can open).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("NOVACART_EMAIL_DIR", "")
if not EMAIL_FILE_PATH:
    raise ImproperlyConfigured("novacart.settings.celery_it needs NOVACART_EMAIL_DIR: the directory e-mails go to.")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"
# A queue of its own per run, so a leftover message from another run is never picked up.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("NOVACART_CELERY_QUEUE", "celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
