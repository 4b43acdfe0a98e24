"""`/api/health/` reports the shared cache (Redis) and the Celery broker besides the database.

Issue 13, flaw 1: with Redis full, every endpoint answered 500 while the health check said 200.
A dependency that is configured (REDIS_URL, CELERY_BROKER_URL) is required: when it does not
answer, health is 503 in the error shape, one error per dependency down. Without it, it is
reported as `not_configured` and does not fail health.
"""

import socket
import time

import pytest
import redis

from tests.conftest import REQUIRE_SERVICES
from tests.users.test_auth import assert_error_shape

pytestmark = pytest.mark.django_db

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
SHARED_REDIS_DB5 = "redis://127.0.0.1:6379/5"  # the index this worktree's tests may use


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _use_cache(settings, url: str, backend: str = REDIS_CACHE, **options) -> None:
    settings.REDIS_URL = url
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": url, "OPTIONS": options}}


def _codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def test_health_reports_cache_and_broker_as_not_configured_without_them(api_client, settings):
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = ""

    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "not_configured", "broker": "not_configured"}


def test_health_is_503_when_the_configured_cache_is_down(api_client, settings, caplog):
    _use_cache(settings, f"redis://127.0.0.1:{_closed_port()}/0")

    response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert_error_shape(response.json())
    assert response.json()["type"] == "server_error"
    assert _codes(response) == ["cache_unavailable"]
    assert "127.0.0.1" not in response.content.decode()
    assert any("cache" in r.getMessage() and r.levelname in ("WARNING", "ERROR") for r in caplog.records)


def test_health_is_503_when_the_cache_answers_but_refuses_writes(api_client, settings):
    # A full Redis on noeviction: reads answer, but throttles (and logins) need writes.
    _use_cache(settings, "redis://cache.internal:6379/0", "tests.security.failing_cache.FailingCache", FAIL="writes")

    response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert _codes(response) == ["cache_unavailable"]


def test_health_is_503_quickly_when_the_configured_broker_is_down(api_client, settings, caplog):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    started = time.monotonic()
    response = api_client.get("/api/health/")

    assert time.monotonic() - started < 4  # Render gives a health check 5 seconds
    assert response.status_code == 503
    assert_error_shape(response.json())
    assert _codes(response) == ["broker_unavailable"]
    assert "127.0.0.1" not in response.content.decode()
    assert any("broker" in r.getMessage() for r in caplog.records)


def test_health_names_every_dependency_that_is_down(api_client, settings):
    _use_cache(settings, f"redis://127.0.0.1:{_closed_port()}/0")
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert _codes(response) == ["cache_unavailable", "broker_unavailable"]


@pytest.mark.skipif(
    not REQUIRE_SERVICES and not _redis_answers(SHARED_REDIS_DB5), reason="needs the local Redis at 127.0.0.1:6379"
)
def test_health_reports_a_working_redis_cache_and_broker(api_client, settings):
    _use_cache(settings, SHARED_REDIS_DB5)
    settings.CELERY_BROKER_URL = SHARED_REDIS_DB5

    response = api_client.get("/api/health/")

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}


def test_liveness_ignores_the_cache_and_the_broker_that_readiness_reports(api_client, settings):
    """Render restarts an instance failing its health check (render.yaml uses the liveness path):
    restarting every instance does not bring Redis back, while the API keeps serving without it."""
    _use_cache(settings, f"redis://127.0.0.1:{_closed_port()}/0")
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    ready = api_client.get("/api/health/")
    live = api_client.get("/api/health/live/")

    assert ready.status_code == 503 and sorted(_codes(ready)) == ["broker_unavailable", "cache_unavailable"]
    assert live.status_code == 200
    assert live.json() == {"status": "ok", "database": "ok"}
