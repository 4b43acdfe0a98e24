"""Issue 13, flaw 1 against a real Redis: a throwaway redis-server of our own, capped at 2 MB with
`noeviction` (the policy that used to hold the cache, the throttle counters and the broker).

Each test starts its own server on a free port (maxmemory is server-wide: the shared Redis is never
reconfigured) and is skipped when redis-server is not installed.
"""

import shutil
import socket
import subprocess
import time

import pytest
import redis
from redis.exceptions import OutOfMemoryError

from tests.conftest import service_missing
from tests.factories import DEFAULT_PASSWORD, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

REDIS_SERVER = shutil.which("redis-server")
MAXMEMORY = 2 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def tiny_redis(tmp_path, settings):
    """A 2 MB noeviction Redis as the default cache (REDIS_URL), the catalog cache on."""
    if REDIS_SERVER is None:
        service_missing("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--maxmemory", str(MAXMEMORY), "--maxmemory-policy", "noeviction", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("the throwaway redis-server did not start")
        settings.REDIS_URL = url
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "novacart",
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
        settings.CATALOG_CACHE_SECONDS = 60
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def _fill(client) -> int:
    """Writes values, smaller and smaller, until Redis refuses even a tiny one; returns how many
    fitted. (A refused large write frees its buffer again, which leaves room for small keys.)"""
    written = 0
    for size in (65536, 4096, 256, 16):
        for _ in range(10_000):
            try:
                client.set(f"filler:{written}", b"x" * size)
            except OutOfMemoryError:
                break
            written += 1
        else:
            raise AssertionError("Redis never refused a write")
    return written


def _every_endpoint_answers(api_client, product) -> dict:
    user = UserFactory()
    return {
        "list": api_client.get("/api/products/", {"page_size": 100}).status_code,
        "detail": api_client.get(f"/api/products/{product.pk}/").status_code,
        "categories": api_client.get("/api/categories/").status_code,
        "register": api_client.post(
            "/api/auth/register/", {"email": "new@example.com", "password": "c0rrect-Horse-battery"}, format="json"
        ).status_code,
        "login": api_client.post(
            "/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
        ).status_code,
        "cart add": api_client.post("/api/cart/add/", {"product_id": product.pk}, format="json").status_code,
    }


def test_junk_parameters_cannot_fill_redis_and_take_the_api_down(api_client, tiny_redis):
    products = ProductFactory.create_batch(100)
    page = api_client.get("/api/products/?page_size=100")
    assert page["X-Catalog-Cache"] == "miss"
    assert len(page.content) > 30_000  # the review's ~33 KB page: 2 MB hold about 30 of them
    used_before = tiny_redis.info("memory")["used_memory"]

    statuses = [api_client.get(f"/api/products/?page_size=100&x={i}").status_code for i in range(150)]

    assert set(statuses) == {200}
    assert len(list(tiny_redis.scan_iter("*catalog:resp:*"))) == 1
    assert tiny_redis.info("memory")["used_memory"] - used_before < 100_000  # the throttle counters
    assert _every_endpoint_answers(api_client, products[0]) == {
        "list": 200,
        "detail": 200,
        "categories": 200,
        "register": 201,
        "login": 200,
        "cart add": 201,
    }


def test_a_full_redis_degrades_to_misses_and_every_endpoint_still_answers(api_client, tiny_redis):
    product = ProductFactory()
    api_client.get(f"/api/products/{product.pk}/")  # the version token and one entry, before it fills
    assert _fill(tiny_redis) > 0
    # Full stays full: a freed client buffer would otherwise leave room for a tiny key now and then.
    tiny_redis.config_set("maxmemory", tiny_redis.info("memory")["used_memory"] // 2)

    answers = _every_endpoint_answers(api_client, product)
    health = api_client.get("/api/health/")
    assert tiny_redis.get("filler:0") is not None  # still full: nothing was evicted

    assert answers == {"list": 200, "detail": 200, "categories": 200, "register": 201, "login": 200, "cart add": 201}
    assert health.status_code == 503
    assert [e["code"] for e in health.json()["errors"]] == ["cache_unavailable"]
