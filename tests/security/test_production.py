"""Production hardening: novacart.settings.prod loaded in a subprocess (as Render runs it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import Resolver404, clear_url_caches, resolve

REPO = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "novacart.settings.prod",
    "SECRET_KEY": "prod-test-" + "k" * 60,
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
    # Product images on Cloudinary, as production stores them (products.E001 refuses the local disk).
    "CLOUDINARY_CLOUD_NAME": "novacart-test",
    "CLOUDINARY_API_KEY": "123456789012345",
    "CLOUDINARY_API_SECRET": "cloudinary-test-secret",
}
CLOUDINARY_VARIABLES = ("CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY", "CLOUDINARY_API_SECRET")

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.urls import reverse
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SECURE_HSTS_PRELOAD": settings.SECURE_HSTS_PRELOAD,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
    "SECURE_CONTENT_TYPE_NOSNIFF": settings.SECURE_CONTENT_TYPE_NOSNIFF,
    "SECURE_REFERRER_POLICY": settings.SECURE_REFERRER_POLICY,
    "X_FRAME_OPTIONS": settings.X_FRAME_OPTIONS,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "SESSION_COOKIE_HTTPONLY": settings.SESSION_COOKIE_HTTPONLY,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "AUTH_COOKIE_SECURE": settings.AUTH_COOKIE_SECURE,
    "renderers": [c.__module__ + "." + c.__name__ for c in api_settings.DEFAULT_RENDERER_CLASSES],
    "throttles": [c.__module__ + "." + c.__name__ for c in api_settings.DEFAULT_THROTTLE_CLASSES],
    "throttle_cache": (lambda c: type(c).__module__ + "." + type(c).__name__)(
        SimpleRateThrottle.cache._connections[SimpleRateThrottle.cache._alias]
    ),
    "cache_backend": settings.CACHES["default"]["BACKEND"],
    "admin": reverse("admin:index"),
    "PAYMENT_GATEWAY": settings.PAYMENT_GATEWAY,
}))
"""


def _clean_env() -> dict:
    """Only what a server would have: the test settings put their own values into os.environ."""
    return {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "PYTHONPATH") if k in os.environ}


def _prod(**extra: str) -> dict:
    env = _clean_env()
    env.update(PROD_ENV, **extra)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def prod():
    return _prod()


def test_transport_security_is_on(prod):
    assert prod["DEBUG"] is False
    assert prod["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and prod["SECURE_HSTS_PRELOAD"]
    assert prod["SECURE_SSL_REDIRECT"] is True
    # Render terminates TLS and forwards X-Forwarded-Proto.
    assert prod["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_cookies_are_secure_and_http_only(prod):
    assert prod["SESSION_COOKIE_SECURE"] and prod["SESSION_COOKIE_HTTPONLY"]
    assert prod["CSRF_COOKIE_SECURE"]
    assert prod["AUTH_COOKIE_SECURE"]  # the JWT cookies of /api/auth/login/


def test_browser_hardening_headers_are_configured(prod):
    assert prod["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert prod["SECURE_REFERRER_POLICY"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
    assert prod["X_FRAME_OPTIONS"] == "DENY"


def test_no_browsable_api_and_no_development_gateway(prod):
    assert prod["renderers"] == ["rest_framework.renderers.JSONRenderer"]
    assert prod["PAYMENT_GATEWAY"] != "dummy"


def test_throttles_apply_everywhere_and_use_redis_when_configured(prod):
    assert prod["throttles"] == [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ]
    with_redis = _prod(REDIS_URL="redis://127.0.0.1:6379/9")
    assert with_redis["cache_backend"] == "django.core.cache.backends.redis.RedisCache"
    assert with_redis["throttle_cache"] == "django.core.cache.backends.redis.RedisCache"


def test_admin_url_comes_from_the_environment(prod):
    assert prod["admin"] == "/admin/"
    assert _prod(ADMIN_URL="staff-7f3a9c/")["admin"] == "/staff-7f3a9c/"


def test_the_real_response_headers_in_production(client_prod_headers):
    headers = client_prod_headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


@pytest.fixture(scope="module")
def client_prod_headers():
    script = """
import json, django
django.setup()
from django.test import Client
response = Client(HTTP_HOST="shop.example.com").get("/api/health/", secure=True)
print(json.dumps(dict(response.headers)))
"""
    env = _clean_env()
    env.update(PROD_ENV)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_admin_moves_with_admin_url_in_process(db):
    """The same with the test settings: novacart.urls reloaded under another ADMIN_URL."""
    import importlib

    import novacart.urls

    try:
        with override_settings(ADMIN_URL="hidden-door/"):
            clear_url_caches()
            importlib.reload(novacart.urls)
            assert resolve("/hidden-door/").app_name == "admin"
            with pytest.raises(Resolver404):
                resolve("/admin/")
    finally:
        clear_url_caches()
        importlib.reload(novacart.urls)
    assert resolve("/admin/").app_name == "admin"


def _manage(*args: str, drop: tuple[str, ...] = (), **extra: str) -> subprocess.CompletedProcess:
    """`manage.py <args>` with production settings, without the variables in `drop`."""
    env = _clean_env()
    env.update({k: v for k, v in PROD_ENV.items() if k not in drop}, **extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings():
    """What CI runs (.ci/run): every deployment warning is a failure."""
    result = _manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr


def test_product_images_are_stored_on_cloudinary_in_production():
    script = """
import json, django
django.setup()
from django.core.files.storage import storages
storage = storages["default"]
print(json.dumps({"storage": type(storage).__name__, "url": storage.url("products/1/a.png")}))
"""
    env = _clean_env()
    env.update(PROD_ENV)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    media = json.loads(result.stdout.strip().splitlines()[-1])
    assert media["storage"] == "MediaCloudinaryStorage"
    assert media["url"].startswith("https://res.cloudinary.com/novacart-test/")


@pytest.mark.parametrize(
    "command",
    [("check", "--deploy", "--fail-level", "WARNING"), ("check",), ("migrate", "--plan")],
    ids=["check-deploy", "check", "migrate (Render's pre-deploy step)"],
)
def test_production_refuses_to_store_product_images_where_they_are_never_served(command):
    """Without Cloudinary the images would go to the local disk, which production never serves."""
    result = _manage(*command, drop=CLOUDINARY_VARIABLES)

    assert result.returncode != 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "products.E001" in output
    assert "not set: CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY, CLOUDINARY_API_SECRET" in output


@pytest.mark.parametrize("missing", CLOUDINARY_VARIABLES)
def test_a_partial_cloudinary_configuration_is_refused_naming_what_is_missing(missing):
    result = _manage("check", drop=(missing,))

    assert result.returncode != 0, result.stdout + result.stderr
    assert f"not set: {missing})" in result.stdout + result.stderr


def test_serving_media_from_the_app_is_an_explicit_choice_that_passes(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        drop=CLOUDINARY_VARIABLES,
        SERVE_MEDIA="1",
        MEDIA_ROOT=str(tmp_path),
    )

    assert result.returncode == 0, result.stdout + result.stderr
