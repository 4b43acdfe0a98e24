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
SHOP = "https://shop.example.com"
# A complete production configuration: what .ci/run and render.yaml pass.
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "novacart.settings.prod",
    "SECRET_KEY": "prod-test-" + "k" * 60,
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
    "RESEND_API_KEY": "re_test_not_a_real_key",
    "EMAIL_HOST": "",
    "EMAIL_BACKEND": "",
    "FRONTEND_URL": SHOP,
    "CORS_ALLOWED_ORIGINS": SHOP,
    "CSRF_TRUSTED_ORIGINS": SHOP,
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


# Every test that starts a subprocess (about a second each, the shared `prod` fixture included) is
# marked slow: `make test-fast` leaves them to `make test`.
@pytest.fixture(scope="module")
def prod():
    return _prod()


@pytest.mark.slow
def test_transport_security_is_on(prod):
    assert prod["DEBUG"] is False
    assert prod["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and prod["SECURE_HSTS_PRELOAD"]
    assert prod["SECURE_SSL_REDIRECT"] is True
    # Render terminates TLS and forwards X-Forwarded-Proto.
    assert prod["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.slow
def test_cookies_are_secure_and_http_only(prod):
    assert prod["SESSION_COOKIE_SECURE"] and prod["SESSION_COOKIE_HTTPONLY"]
    assert prod["CSRF_COOKIE_SECURE"]
    assert prod["AUTH_COOKIE_SECURE"]  # the JWT cookies of /api/auth/login/


@pytest.mark.slow
def test_browser_hardening_headers_are_configured(prod):
    assert prod["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert prod["SECURE_REFERRER_POLICY"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
    assert prod["X_FRAME_OPTIONS"] == "DENY"


@pytest.mark.slow
def test_no_browsable_api_and_no_development_gateway(prod):
    assert prod["renderers"] == ["rest_framework.renderers.JSONRenderer"]
    assert prod["PAYMENT_GATEWAY"] != "dummy"


@pytest.mark.slow
def test_throttles_apply_everywhere_and_use_redis_when_configured(prod):
    # DRF's throttles with a policy for a failing cache (novacart/throttling.py).
    assert prod["throttles"] == [
        "novacart.throttling.AnonRateThrottle",
        "novacart.throttling.UserRateThrottle",
    ]
    with_redis = _prod(REDIS_URL="redis://127.0.0.1:6379/9")
    assert with_redis["cache_backend"] == "django.core.cache.backends.redis.RedisCache"
    assert with_redis["throttle_cache"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.slow
def test_admin_url_comes_from_the_environment(prod):
    assert prod["admin"] == "/admin/"
    assert _prod(ADMIN_URL="staff-7f3a9c/")["admin"] == "/staff-7f3a9c/"


@pytest.mark.slow
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


def _prod_process(command: list[str], **overrides: str | None) -> subprocess.CompletedProcess:
    """`command` in a fresh interpreter with the complete production configuration (PROD_ENV),
    changed by `overrides` (None removes a variable)."""
    env = _clean_env()
    env.update(PROD_ENV)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    # A process that fails to refuse would run on (a worker, a server): the timeout fails the test.
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _manage(*args: str, drop: tuple[str, ...] = (), **extra: str) -> subprocess.CompletedProcess:
    """`manage.py <args>` with production settings, without the variables in `drop`."""
    return _prod_process([sys.executable, "manage.py", *args], **dict.fromkeys(drop), **extra)


def _check_deploy(**extra: str) -> subprocess.CompletedProcess:
    """What CI runs (.ci/run): every deployment warning is a failure."""
    return _manage("check", "--deploy", "--fail-level", "WARNING", **extra)


@pytest.mark.slow
def test_check_deploy_passes_with_production_settings():
    # The check only reads the URL; nothing connects to Redis.
    result = _check_deploy(REDIS_URL="redis://127.0.0.1:6379/0")

    assert result.returncode == 0, result.stdout + result.stderr


# --- An incomplete production configuration is refused (issue 13, flaw 2) -------------------------

CHECK_DEPLOY = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
CONSOLE = "django.core.mail.backends.console.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"
# What the settings read as unset is given as "" (so a developer's .env cannot fill it in); None
# removes a variable whose default comes from another one (CSRF_TRUSTED_ORIGINS from the CORS origins).
DANGEROUS_DEFAULTS = {
    "no e-mail configured": ({"RESEND_API_KEY": ""}, "novacart.E001", ["RESEND_API_KEY", "EMAIL_HOST"]),
    "mail to the console by name": (
        {"RESEND_API_KEY": "", "EMAIL_BACKEND": CONSOLE},
        "novacart.E001",
        ["RESEND_API_KEY", "EMAIL_HOST"],
    ),
    "SMTP without a host": ({"RESEND_API_KEY": "", "EMAIL_BACKEND": SMTP}, "novacart.E001", ["EMAIL_HOST"]),
    "no FRONTEND_URL": ({"FRONTEND_URL": ""}, "novacart.E002", ["FRONTEND_URL"]),
    "development FRONTEND_URL": ({"FRONTEND_URL": "http://localhost:5173"}, "novacart.E003", ["FRONTEND_URL"]),
    "development CORS origins": (
        {"CORS_ALLOWED_ORIGINS": "http://localhost:5173,http://127.0.0.1:5173", "CSRF_TRUSTED_ORIGINS": None},
        "novacart.E003",
        ["CORS_ALLOWED_ORIGINS", "CSRF_TRUSTED_ORIGINS"],
    ),
    "development CSRF origin": (
        {"CSRF_TRUSTED_ORIGINS": f"{SHOP},http://[::1]:5173"},
        "novacart.E003",
        ["CSRF_TRUSTED_ORIGINS"],
    ),
    "development redirect origin": (
        {"FRONTEND_ALLOWED_ORIGINS": "http://127.0.0.1:5173"},
        "novacart.E003",
        ["FRONTEND_ALLOWED_ORIGINS"],
    ),
}
ENTRY_POINTS = {
    "migrate (Render's pre-deploy command)": [sys.executable, "manage.py", "migrate", "--noinput"],
    "gunicorn's WSGI application": [sys.executable, "-c", "import novacart.wsgi"],
    "the ASGI application": [sys.executable, "-c", "import novacart.asgi"],
    "the Celery worker": [sys.executable, "-m", "celery", "-A", "novacart", "worker", "--concurrency=1"],
}


def _run(command: list[str], **overrides: str | None) -> subprocess.CompletedProcess:
    """`command` with the complete production configuration and an in-memory broker (a worker can
    start), changed by `overrides`."""
    return _prod_process(command, **{"CELERY_BROKER_URL": "memory://", **overrides})


def _reported(output: str, code: str) -> list[str]:
    return [line for line in output.splitlines() if f"({code})" in line]


@pytest.mark.parametrize(("overrides", "code", "variables"), DANGEROUS_DEFAULTS.values(), ids=list(DANGEROUS_DEFAULTS))
def test_check_deploy_fails_naming_the_variable_with_each_dangerous_default_left_in(overrides, code, variables):
    result = _run(CHECK_DEPLOY, **overrides)

    assert result.returncode != 0, result.stdout + result.stderr
    reported = _reported(result.stdout + result.stderr, code)
    assert reported, result.stderr
    for name in variables:
        assert any(name in line for line in reported), (name, reported)


@pytest.mark.parametrize("command", ENTRY_POINTS.values(), ids=list(ENTRY_POINTS))
def test_every_entry_point_refuses_to_start_when_mail_would_go_to_the_log(command):
    result = _run(command, RESEND_API_KEY="", FRONTEND_URL="http://localhost:5173")
    output = result.stdout + result.stderr

    assert result.returncode != 0, output
    assert _reported(output, "novacart.E001") and "RESEND_API_KEY" in output
    assert any("FRONTEND_URL" in line for line in _reported(output, "novacart.E003"))


def test_the_servers_start_with_a_complete_production_configuration():
    for name in ("gunicorn's WSGI application", "the ASGI application"):
        result = _run(ENTRY_POINTS[name])
        assert result.returncode == 0, (name, result.stderr)


def test_unset_origins_trust_no_browser_origin_in_production():
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.FRONTEND_URL, settings.CORS_ALLOWED_ORIGINS, settings.CSRF_TRUSTED_ORIGINS, "
        "settings.EMAIL_BACKEND]))"
    )

    result = _run(
        [sys.executable, "-c", script], FRONTEND_URL=None, CORS_ALLOWED_ORIGINS=None, CSRF_TRUSTED_ORIGINS=None
    )

    assert result.returncode == 0, result.stderr
    frontend, cors, csrf, backend = json.loads(result.stdout.strip().splitlines()[-1])
    assert (frontend, cors, csrf) == ("", [], [])
    assert backend == "anymail.backends.resend.EmailBackend"


def test_check_deploy_fails_when_workers_would_count_throttles_apart():
    """Without REDIS_URL the cache is each process's memory: every gunicorn worker and every
    instance keeps its own throttle counters, so the limits multiply with the processes."""
    result = _check_deploy()

    assert result.returncode != 0
    assert "novacart.caches.W001" in result.stderr
    assert "REDIS_URL is not set" in result.stderr


def test_check_deploy_refuses_a_catalog_cache_in_process_memory():
    """A catalog write on one process cannot invalidate the pages another process keeps."""
    result = _check_deploy(CATALOG_CACHE_SECONDS="60")

    assert result.returncode != 0
    assert "novacart.caches.E001" in result.stderr
    assert "CATALOG_CACHE_SECONDS=60" in result.stderr
    # With a shared cache the same setting is what render.yaml runs.
    assert _check_deploy(CATALOG_CACHE_SECONDS="60", REDIS_URL="redis://127.0.0.1:6379/0").returncode == 0


# --- Product images go where production serves them (issue 13, flaw 15) ---------------------------


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


S3_ENV = {
    "AWS_STORAGE_BUCKET_NAME": "novacart-media",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLENOVACART",
    "AWS_SECRET_ACCESS_KEY": "s3-test-secret",
    "AWS_S3_REGION_NAME": "eu-central-1",
}
MEDIA_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.files.storage import storages
storage = storages["default"]
print(json.dumps({
    "storage": type(storage).__module__ + "." + type(storage).__name__,
    "url": storage.url("products/1/a.png"),
    "cloudinary_installed": "cloudinary_storage" in settings.INSTALLED_APPS,
    "serve_media": settings.SERVE_MEDIA,
}))
"""


def _media(**overrides: str | None) -> dict:
    result = _prod_process([sys.executable, "-c", MEDIA_PROBE], **overrides)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_product_images_are_stored_on_s3_when_a_bucket_is_set():
    media = _media(**dict.fromkeys(CLOUDINARY_VARIABLES), **S3_ENV, AWS_S3_CUSTOM_DOMAIN="media.shop.example.com")

    assert media["storage"] == "storages.backends.s3.S3Storage"
    assert media["url"] == "https://media.shop.example.com/products/1/a.png"
    assert media["cloudinary_installed"] is False and media["serve_media"] is False
    # check --deploy with a complete S3 configuration (the check reads REDIS_URL, never connects).
    result = _check_deploy(**dict.fromkeys(CLOUDINARY_VARIABLES), **S3_ENV, REDIS_URL="redis://127.0.0.1:6379/0")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_check_deploy_passes_with_s3_and_error_monitoring_configured():
    """The complete production configuration with the optional services of issue 15 turned on."""
    result = _check_deploy(
        **dict.fromkeys(CLOUDINARY_VARIABLES),
        **S3_ENV,
        SENTRY_DSN="http://key@127.0.0.1:9/1",  # never contacted: nothing fails
        SENTRY_TRACES_SAMPLE_RATE="0.1",
        RENDER_GIT_COMMIT="0a1b2c3",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_an_s3_compatible_store_gets_signed_urls_on_its_own_endpoint():
    media = _media(**dict.fromkeys(CLOUDINARY_VARIABLES), **S3_ENV, AWS_S3_ENDPOINT_URL="https://s3.store.example.net")

    assert media["storage"] == "storages.backends.s3.S3Storage"
    assert media["url"].startswith("https://s3.store.example.net/novacart-media/products/1/a.png?")
    assert "X-Amz-Signature=" in media["url"]


@pytest.mark.slow
def test_with_both_s3_and_cloudinary_configured_s3_wins_and_the_check_says_so():
    """The one rule: AWS_STORAGE_BUCKET_NAME decides. `check` warns (and so `check --deploy
    --fail-level WARNING`, what CI runs, fails) so that nobody keeps both by accident."""
    media = _media(**S3_ENV)  # PROD_ENV has the three CLOUDINARY_* already

    assert media["storage"] == "storages.backends.s3.S3Storage"
    assert media["cloudinary_installed"] is False
    warned = _manage("check", **S3_ENV)
    assert warned.returncode == 0, warned.stdout + warned.stderr
    [line] = _reported(warned.stdout + warned.stderr, "products.W001")
    assert "stored on S3 and the Cloudinary settings are ignored" in line
    assert "S3 wins when AWS_STORAGE_BUCKET_NAME is set" in line
    assert _check_deploy(**S3_ENV, REDIS_URL="redis://127.0.0.1:6379/0").returncode != 0
    # Without the bucket, the same Cloudinary variables are what production uses.
    assert _media()["storage"] == "cloudinary_storage.storage.MediaCloudinaryStorage"


@pytest.mark.slow
def test_half_an_s3_key_pair_is_refused():
    result = _manage("check", **dict.fromkeys(CLOUDINARY_VARIABLES), **{**S3_ENV, "AWS_SECRET_ACCESS_KEY": ""})

    assert result.returncode != 0
    [line] = _reported(result.stdout + result.stderr, "products.E002")
    assert "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is empty" in line


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
        REDIS_URL="redis://127.0.0.1:6379/0",  # only read by the cache check, never connected to
    )

    assert result.returncode == 0, result.stdout + result.stderr
