"""novacart.checks: with DEBUG off, no mail to the console and no development origins (issue 13,
flaw 2). The rule, in process; tests/security/test_production.py shows every entry point refusing."""

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from novacart.checks import is_local_origin, production_configuration, refuse_to_start

CONSOLE = "django.core.mail.backends.console.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"
RESEND = "anymail.backends.resend.EmailBackend"
SHOP = "https://shop.example.com"


@pytest.fixture
def production(settings):
    """A complete production configuration; each test spoils one part of it."""
    settings.DEBUG = False
    settings.EMAIL_BACKEND = RESEND
    settings.ANYMAIL = {"RESEND_API_KEY": "re_test_key"}
    settings.EMAIL_HOST = ""
    settings.FRONTEND_URL = SHOP
    settings.CORS_ALLOWED_ORIGINS = [SHOP]
    settings.CSRF_TRUSTED_ORIGINS = [SHOP]
    settings.FRONTEND_ALLOWED_ORIGINS = [SHOP]
    settings.SILENCED_SYSTEM_CHECKS = []
    return settings


def _found(*, id_prefix="novacart."):
    return [(error.id, error.msg, error.hint) for error in production_configuration() if error.id.startswith(id_prefix)]


def test_a_complete_production_configuration_passes(production):
    assert production_configuration() == []
    refuse_to_start()  # nothing to refuse


def test_the_check_runs_with_the_registered_security_checks(production):
    production.EMAIL_BACKEND = CONSOLE

    found = [error.id for error in checks.run_checks(tags=[checks.Tags.security])]

    assert "novacart.E001" in found


def test_mail_to_the_console_is_refused_naming_the_variables(production):
    production.EMAIL_BACKEND = CONSOLE

    [(code, message, hint)] = _found()

    assert code == "novacart.E001"
    assert "RESEND_API_KEY" in message and "EMAIL_HOST" in message
    assert "password-reset links" in message
    assert "RESEND_API_KEY" in hint and "EMAIL_HOST" in hint


def test_smtp_without_a_host_is_refused(production):
    production.EMAIL_BACKEND = SMTP

    [(code, message, _hint)] = _found()

    assert code == "novacart.E001" and "EMAIL_HOST" in message
    production.EMAIL_HOST = "smtp.example.com"
    assert _found() == []


def test_resend_without_a_key_is_refused(production):
    production.ANYMAIL = {"RESEND_API_KEY": ""}

    [(code, message, _hint)] = _found()

    assert code == "novacart.E001" and "RESEND_API_KEY" in message


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.mail.backends.locmem.EmailBackend",  # the test suite
        "django.core.mail.backends.filebased.EmailBackend",  # the real-worker test
        "django.core.mail.backends.dummy.EmailBackend",  # the benchmark
    ],
)
def test_a_backend_named_on_purpose_is_accepted(production, backend):
    production.EMAIL_BACKEND = backend

    assert _found() == []


@pytest.mark.parametrize("url", ["", "shop.example.com", "https://", "/reset", "ftp://shop.example.com", "http://[::1"])
def test_frontend_url_must_be_an_absolute_http_url(production, url):
    production.FRONTEND_URL = url

    found = _found()

    assert ("novacart.E002", "FRONTEND_URL") in [(code, message.split(" ")[0]) for code, message, _ in found]


@pytest.mark.parametrize(
    "name", ["FRONTEND_URL", "CORS_ALLOWED_ORIGINS", "CSRF_TRUSTED_ORIGINS", "FRONTEND_ALLOWED_ORIGINS"]
)
def test_each_origin_setting_pointing_at_localhost_is_refused_by_name(production, name):
    local = "http://localhost:5173"
    setattr(production, name, local if name == "FRONTEND_URL" else [SHOP, local])

    [(code, message, hint)] = _found()

    assert code == "novacart.E003"
    assert message.startswith(f"{name} points at localhost") and local in message and SHOP not in message
    assert name in hint


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:5173",
        "HTTP://LOCALHOST",
        "http://shop.localhost:8000",
        "http://127.0.0.1:5173",
        "http://127.8.9.1",
        "http://[::1]:5173",
        "http://[::ffff:127.0.0.1]:5173",
        "http://0.0.0.0:8000",
        " http://localhost:5173/ ",
    ],
)
def test_local_origins(origin):
    assert is_local_origin(origin)


@pytest.mark.parametrize(
    "origin",
    [
        SHOP,
        "https://localhost.example.com",
        "https://127.0.0.1.nip.io",
        "https://*.example.com",
        "https://10.0.0.5",
        "localhost:5173",  # no scheme: django-cors-headers and Django's own checks report the format
        "http://[::1",
        "",
    ],
)
def test_not_local_origins(origin):
    assert not is_local_origin(origin)


def test_with_debug_on_nothing_is_refused(production):
    production.DEBUG = True
    production.EMAIL_BACKEND = CONSOLE
    production.FRONTEND_URL = "http://localhost:5173"
    production.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]

    assert production_configuration() == []


def test_refuse_to_start_raises_every_error_and_honours_silenced_ids(production):
    production.EMAIL_BACKEND = CONSOLE
    production.FRONTEND_URL = "http://localhost:5173"

    with pytest.raises(ImproperlyConfigured) as refused:
        refuse_to_start()

    assert "novacart.E001" in str(refused.value) and "RESEND_API_KEY" in str(refused.value)
    assert "novacart.E003" in str(refused.value) and "FRONTEND_URL" in str(refused.value)
    production.SILENCED_SYSTEM_CHECKS = ["novacart.E001", "novacart.E003"]
    refuse_to_start()


def test_the_test_settings_start_their_localhost_origins_are_silenced_on_purpose():
    """novacart.settings.test runs DEBUG off with locmem mail and the development SPA's origins."""
    assert {error.id for error in production_configuration()} == {"novacart.E003"}
    refuse_to_start()


def test_razorpay_without_its_secrets_is_refused_naming_each_variable(production):
    production.PAYMENT_GATEWAY = "razorpay"
    production.RAZORPAY_KEY_ID = "rzp_live_abc"
    production.RAZORPAY_KEY_SECRET = ""
    production.RAZORPAY_WEBHOOK_SECRET = ""

    found = _found(id_prefix="novacart.E004")

    assert [message.split(" but ")[1].split(" ")[0] for _, message, _ in found] == [
        "RAZORPAY_KEY_SECRET",
        "RAZORPAY_WEBHOOK_SECRET",
    ]
    with pytest.raises(ImproperlyConfigured, match="RAZORPAY_KEY_SECRET"):
        refuse_to_start()


def test_razorpay_with_its_secrets_passes_and_other_gateways_need_none(production):
    production.PAYMENT_GATEWAY = "stripe"
    production.RAZORPAY_KEY_ID = production.RAZORPAY_KEY_SECRET = production.RAZORPAY_WEBHOOK_SECRET = ""
    assert production_configuration() == []

    production.PAYMENT_GATEWAY = "razorpay"
    production.RAZORPAY_KEY_ID = "rzp_live_abc"
    production.RAZORPAY_KEY_SECRET = "secret"
    production.RAZORPAY_WEBHOOK_SECRET = "whsecret"
    assert production_configuration() == []
