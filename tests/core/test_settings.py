"""Start-up refuses unsafe production configuration, and .env.example lists every variable."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SETTINGS_DIR = REPO / "novacart" / "settings"
ENV_CALL = re.compile(r"""env_(?:str|bool|int|float|list)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
LONG_KEY = "k" * 10 + "-a-long-random-looking-secret-key-0123456789-abcdefghij"


def _settings_variable_names() -> set[str]:
    names: set[str] = set()
    for source in SETTINGS_DIR.glob("*.py"):
        names |= set(ENV_CALL.findall(source.read_text()))
    return names


STARTED = "import django; django.setup(); from django.conf import settings; print('started', settings.ALLOWED_HOSTS)"


def _django_setup(*, script: str = STARTED, **variables: str) -> subprocess.CompletedProcess:
    """`django.setup()` (or `script`) in a fresh interpreter with base settings.

    Every variable the settings read is set explicitly (empty unless given), so a developer's
    `.env` (read with override=False) cannot change the outcome, and neither can the CI's
    environment."""
    env = dict.fromkeys(_settings_variable_names(), "")
    env.update(
        {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "novacart.settings.base",
            "DATABASE_URL": "sqlite:///:memory:",
            "LOG_LEVEL": "INFO",
            "ADMIN_URL": "admin/",
            "NOVACART_DEV": "0",
            "DEBUG": "0",
            "SECRET_KEY": LONG_KEY,
            "ALLOWED_HOSTS": "shop.example.com",
            "PAYMENT_GATEWAY": "",
        }
    )
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_production_configuration_starts():
    result = _django_setup()

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("secret_key", ["", "too-short", "django-insecure-novacart-local-development-only"])
def test_start_up_fails_without_a_real_secret_key_when_debug_is_off(secret_key):
    result = _django_setup(SECRET_KEY=secret_key)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_start_up_fails_without_allowed_hosts_when_debug_is_off():
    result = _django_setup(ALLOWED_HOSTS="")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS must list" in result.stderr


@pytest.mark.slow
def test_renders_own_host_name_is_allowed():
    result = _django_setup(
        ALLOWED_HOSTS="",
        RENDER_EXTERNAL_HOSTNAME="novacart-web.onrender.com",
    )

    assert result.returncode == 0, result.stderr
    assert "['novacart-web.onrender.com']" in result.stdout


def test_the_dummy_payment_gateway_is_refused_when_debug_is_off():
    result = _django_setup(PAYMENT_GATEWAY="dummy")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PAYMENT_GATEWAY=dummy" in result.stderr


def test_an_unknown_payment_gateway_is_refused():
    result = _django_setup(PAYMENT_GATEWAY="paypal")

    assert result.returncode != 0
    assert "PAYMENT_GATEWAY must be" in result.stderr


def test_a_malformed_boolean_is_refused_with_its_name():
    result = _django_setup(DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_prod_settings_refuse_debug():
    result = _django_setup(DJANGO_SETTINGS_MODULE="novacart.settings.prod", DEBUG="1")

    assert result.returncode != 0
    assert "refuses DEBUG=1" in result.stderr


def test_env_example_lists_every_variable_the_settings_read():
    names = _settings_variable_names()
    assert len(names) > 30, "the settings parser found suspiciously few variables"
    example = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))

    missing = sorted(names - documented)
    assert not missing, f".env.example does not document: {missing}"
    # Also documented: what gunicorn.conf.py reads, and the settings module itself.
    gunicorn = set(
        re.findall(r"""environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""", (REPO / "gunicorn.conf.py").read_text())
    )
    stale = sorted(documented - names - gunicorn - {"DJANGO_SETTINGS_MODULE"})
    assert not stale, f".env.example documents variables the settings never read: {stale}"


def test_every_env_example_entry_has_a_comment():
    lines = (REPO / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^#?\s*[A-Z][A-Z0-9_]*=", line):
            assert index > 0 and lines[index - 1].startswith("#"), f"no comment above: {line}"


def test_razorpay_is_a_payment_gateway_the_settings_accept():
    result = _django_setup(
        PAYMENT_GATEWAY="razorpay",
        RAZORPAY_KEY_ID="rzp_live_abc",
        RAZORPAY_KEY_SECRET="secret",
        RAZORPAY_WEBHOOK_SECRET="whsecret",
        RAZORPAY_API_BASE="http://127.0.0.1:9/",
    )

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
