"""Start-up refusals for a production configuration that would leak mail or trust development origins.

With DEBUG off, NovaCart refuses to start when:

- `novacart.E001`: e-mail would not really be delivered. That is the console backend (what the
  settings fall back to when neither RESEND_API_KEY nor EMAIL_HOST is set: every mail, password-reset
  links included, would be written to the service log), SMTP without EMAIL_HOST, or Resend without
  RESEND_API_KEY. Any other backend named in EMAIL_BACKEND is a deliberate choice and accepted: the
  test suite's locmem, the worker test's files, the benchmark's dummy.
- `novacart.E002`: FRONTEND_URL, the base of every link in those mails, is empty or not an absolute
  http(s) URL.
- `novacart.E003`: FRONTEND_URL, CORS_ALLOWED_ORIGINS, CSRF_TRUSTED_ORIGINS or FRONTEND_ALLOWED_ORIGINS
  names this machine (localhost, 127.0.0.0/8, [::1]): development values which in production would
  send customers' links nowhere and trust, with credentials, whatever runs on a visitor's own machine.

- `novacart.E004`: PAYMENT_GATEWAY=razorpay without RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET or
  RAZORPAY_WEBHOOK_SECRET: checkout could not start, verify could not check a signature, or every
  webhook would be refused, one error per missing variable.

The check is registered for every run, not only for `check --deploy`, so that every command that
runs system checks stops: `migrate` (Render's pre-deploy command), `runserver`, `check`. Gunicorn
and the Celery worker run no system checks: novacart.wsgi, novacart.asgi and the worker's start-up
step (novacart.celery) call `refuse_to_start` instead, which raises the same messages.

A deploy-only check (`shared_cache`, `check --deploy`): production runs several processes
(gunicorn workers, more web instances when render.yaml scales the service), so nothing one of them
needs may live in another one's memory: the cache must be shared (REDIS_URL).

SECRET_KEY and ALLOWED_HOSTS are refused in the settings themselves, which nothing can override.
These are system checks because a settings module may use such values on purpose, and says so with
SILENCED_SYSTEM_CHECKS (novacart.settings.test: localhost origins with DEBUG off); the environment
cannot silence them, and `check --deploy` lists every problem at once, each naming its variable.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
RESEND_BACKEND = "anymail.backends.resend.EmailBackend"
ORIGIN_SETTINGS = ("CORS_ALLOWED_ORIGINS", "CSRF_TRUSTED_ORIGINS", "FRONTEND_ALLOWED_ORIGINS")


def is_local_origin(origin: str) -> bool:
    """Whether an origin or URL points at the machine it is used on (loopback or unspecified)."""
    try:
        host = urlsplit(origin.strip()).hostname
    except ValueError:  # e.g. an unclosed "[" : not an address at all, and not ours to report
        return False
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _email_errors() -> list[Error]:
    backend = settings.EMAIL_BACKEND
    if backend == CONSOLE_BACKEND:
        return [
            Error(
                "No e-mail backend is configured (RESEND_API_KEY and EMAIL_HOST are empty): mail goes to "
                "the console, so password-reset links would be written to the service log.",
                hint="Set RESEND_API_KEY (Resend) or EMAIL_HOST (SMTP, with EMAIL_HOST_USER and "
                "EMAIL_HOST_PASSWORD), or name a backend in EMAIL_BACKEND.",
                id="novacart.E001",
            )
        ]
    if backend == SMTP_BACKEND and not settings.EMAIL_HOST:
        return [
            Error(
                "EMAIL_BACKEND is SMTP but EMAIL_HOST is empty: no mail would be delivered.",
                hint="Set EMAIL_HOST to the SMTP server.",
                id="novacart.E001",
            )
        ]
    if backend == RESEND_BACKEND and not settings.ANYMAIL.get("RESEND_API_KEY"):
        return [
            Error(
                "EMAIL_BACKEND is Resend but RESEND_API_KEY is empty: no mail would be delivered.",
                hint="Set RESEND_API_KEY.",
                id="novacart.E001",
            )
        ]
    return []


def _frontend_url_errors() -> list[Error]:
    url = settings.FRONTEND_URL
    try:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return []
    except ValueError:  # an unparseable URL is reported below like a missing one
        pass
    return [
        Error(
            f"FRONTEND_URL must be the absolute URL of the shop front when DEBUG is off, got {url!r}.",
            hint="Set FRONTEND_URL, e.g. https://shop.example.com: password-reset links are built on it.",
            id="novacart.E002",
        )
    ]


def _local_origin_errors() -> list[Error]:
    values = {"FRONTEND_URL": [settings.FRONTEND_URL]}
    values.update({name: list(getattr(settings, name)) for name in ORIGIN_SETTINGS})
    errors = []
    for name, origins in values.items():
        local = [origin for origin in origins if is_local_origin(origin)]
        if local:
            errors.append(
                Error(
                    f"{name} points at localhost when DEBUG is off: {', '.join(local)}.",
                    hint=f"Set {name} to the public https origins of the shop front (development values "
                    "trust whatever runs on a visitor's own machine).",
                    id="novacart.E003",
                )
            )
    return errors


RAZORPAY_SECRETS = {
    "RAZORPAY_KEY_ID": "Razorpay Checkout in the browser needs it",
    "RAZORPAY_KEY_SECRET": "API calls and the checkout signature of POST /api/payments/verify/ need it",
    "RAZORPAY_WEBHOOK_SECRET": "every Razorpay webhook would be refused without it",
}


def _payment_gateway_errors() -> list[Error]:
    if settings.PAYMENT_GATEWAY != "razorpay":
        return []
    return [
        Error(
            f"PAYMENT_GATEWAY is razorpay but {name} is empty: {why}.",
            hint=f"Set {name} (Razorpay dashboard, Account & Settings: API keys and webhooks).",
            id="novacart.E004",
        )
        for name, why in RAZORPAY_SECRETS.items()
        if not getattr(settings, name)
    ]


def production_configuration(app_configs=None, **kwargs) -> list[Error]:
    """The system check (registered by novacart.apps): nothing to say when DEBUG is on."""
    if settings.DEBUG:
        return []
    return [*_email_errors(), *_frontend_url_errors(), *_local_origin_errors(), *_payment_gateway_errors()]


def refuse_to_start() -> None:
    """For processes that run no system checks (gunicorn, the Celery worker): the errors
    `production_configuration` reports, except those the settings silence, as ImproperlyConfigured."""
    errors = [error for error in production_configuration() if not error.is_silenced()]
    if errors:
        raise ImproperlyConfigured("NovaCart refuses to start:\n" + "\n".join(str(error) for error in errors))


# Cache backends whose entries only the process (or, for files, the machine) that wrote them sees.
PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
}


def shared_cache(app_configs=None, **kwargs):
    """Deploy check (registered by novacart.apps): throttles and the catalog cache need one cache for all."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in PROCESS_LOCAL_CACHES:
        return []
    issues = [
        CheckWarning(
            "REDIS_URL is not set: the cache is each process's own memory, so every gunicorn worker and "
            "every instance keeps its own throttle counters and the rate limits multiply with them.",
            hint="Set REDIS_URL to the Redis that every web instance shares (render.yaml does).",
            id="novacart.caches.W001",
        )
    ]
    if settings.CATALOG_CACHE_SECONDS > 0:
        issues.append(
            Error(
                f"CATALOG_CACHE_SECONDS={settings.CATALOG_CACHE_SECONDS} with a cache in process memory: "
                "a catalog write on one process cannot invalidate the pages the others keep, so customers "
                "see old prices and stock for that long.",
                hint="Set REDIS_URL, or CATALOG_CACHE_SECONDS=0.",
                id="novacart.caches.E001",
            )
        )
    return issues
