"""Settings for the test suite: production-like (DEBUG off), fast and offline."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-django-checks")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ["NOVACART_DEV"] = "0"
# Tests decide per test which gateway is on; the default is none (503 payment_not_configured).
os.environ.setdefault("PAYMENT_GATEWAY", "")
os.environ.setdefault("STRIPE_SECRET_KEY", "")
os.environ.setdefault("REDIS_URL", "")
os.environ.setdefault("CELERY_BROKER_URL", "")
# Offline: never report to a Sentry a developer's shell points at (tests start their own fake).
os.environ["SENTRY_DSN"] = ""
# The suite's shop front is the development SPA on localhost (reset links, CORS, CSRF, redirects).
os.environ.setdefault("FRONTEND_URL", "http://localhost:5173")
os.environ.setdefault("CORS_ALLOWED_ORIGINS", "http://localhost:5173,http://127.0.0.1:5173")

from .base import *  # noqa: E402,F403
from .base import REST_FRAMEWORK  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Generous limits so ordinary tests are never throttled; throttling tests lower them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "NUM_PROXIES": None,
    "DEFAULT_THROTTLE_RATES": {
        "login": "1000/min",
        "login_account": "1000/min",
        "login_attempt": "1000/min",
        "login_attempt_account": "1000/min",
        "password_change": "1000/min",
        "auth": "1000/min",
        "register": "1000/min",
        "password_reset": "1000/min",
        "password_reset_email": "1000/min",
        "password_reset_confirm": "1000/min",
        "email_verification_resend": "1000/min",
        "voucher": "1000/min",
        "order_lookup": "1000/min",
        "order_lookup_email": "1000/min",
        "anon": "100000/min",
        "user": "100000/min",
    },
}
SECURE_HSTS_SECONDS = 0
# DEBUG is off to be production-like, with those localhost origins on purpose (novacart.checks).
SILENCED_SYSTEM_CHECKS = ["novacart.E003"]
CATALOG_CACHE_SECONDS = 0
