"""Error monitoring: Sentry, initialised by the settings when SENTRY_DSN is set (never otherwise).

Unhandled errors of requests (the Django integration; DRF's 5xx reach it through drf-standardized-
errors, which sends Django's got_request_exception) and of Celery tasks (the Celery integration, in
the worker and in eager mode) become events. No personal data: `send_default_pii` is off (no user,
no cookies, no client address, sensitive headers filtered by the SDK) and every event, breadcrumbs
and request body included, goes through the log redaction of novacart/logging.py before it leaves.
"""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from .logging import redact_data


def event_scrub(event: dict, hint: dict) -> dict:
    """`before_send` (errors) and `before_send_transaction` (traces): the whole event redacted, so
    the request's body, headers, cookies and query string, `extra`, breadcrumbs, exception messages
    and stack-frame variables all lose tokens, passwords, keys and card numbers."""
    return redact_data(event)


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float | None) -> bool:
    """Starts the Sentry SDK when `dsn` is set; returns whether it did. Traces only when a sample
    rate is given (None: errors only)."""
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=event_scrub,
        before_send_transaction=event_scrub,
    )
    return True
