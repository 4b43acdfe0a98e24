"""One limit for every password sign-in (/api/token/, /api/auth/login/ and the admin login): failed
attempts count per account and per client address, and once either count is full even the right
password is refused until the lockout period has passed. Every attempt, successful or not, also
counts (generously) per account and per address: each one costs a password hash."""

import threading

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import service_missing
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.users.test_auth import assert_error_shape
from users import throttles

pytestmark = pytest.mark.django_db

API_LOGINS = ["/api/token/", "/api/auth/login/"]
ADMIN_LOGIN = f"/{settings.ADMIN_URL}login/"
ADMIN_INDEX = f"/{settings.ADMIN_URL}"
LOCKED_MESSAGE = "Too many failed sign-in attempts"


def _admin_login(client, email, password):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": ADMIN_INDEX})


def _signed_in_to_admin(client) -> bool:
    return client.get(ADMIN_INDEX).status_code == 200


def _api_login(path, email, password, address="10.9.9.9"):
    return APIClient(REMOTE_ADDR=address).post(path, {"email": email, "password": password})


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, moved by hand: clock.now += 3600."""

    class Clock:
        now = 1_000_000.0

    monkeypatch.setattr(throttles._Counter, "timer", staticmethod(lambda: Clock.now))
    return Clock


# --- the admin login ------------------------------------------------------------------------


def test_admin_login_is_locked_after_failed_attempts_from_one_address(staff, lower_rates):
    lower_rates(login="3/min")
    client = Client(REMOTE_ADDR="10.0.0.5")

    failures = [_admin_login(client, staff.email, "wrong-password") for _ in range(3)]
    locked = _admin_login(client, staff.email, DEFAULT_PASSWORD)

    assert [r.status_code for r in failures] == [200] * 3
    assert all("Please enter the correct" in r.content.decode() for r in failures)
    assert locked.status_code == 200
    assert f"{LOCKED_MESSAGE} for this account or from this address. Try again in 1" in locked.content.decode()
    assert not _signed_in_to_admin(client)
    staff.refresh_from_db()
    assert staff.last_login is None


def test_admin_login_is_locked_for_an_account_attacked_from_many_addresses(staff, lower_rates):
    lower_rates(login_account="3/hour")

    for n in range(3):
        _admin_login(Client(REMOTE_ADDR=f"10.0.1.{n}"), staff.email.upper(), "wrong-password")
    client = Client(REMOTE_ADDR="10.0.2.1")
    locked = _admin_login(client, staff.email, DEFAULT_PASSWORD)

    assert LOCKED_MESSAGE in locked.content.decode()
    assert not _signed_in_to_admin(client)
    other_staff = StaffFactory()
    assert _admin_login(client, other_staff.email, DEFAULT_PASSWORD).status_code == 302
    assert _signed_in_to_admin(client)


def test_admin_lockout_ends_after_the_period(staff, lower_rates, clock):
    lower_rates(login="2/min")
    client = Client(REMOTE_ADDR="10.0.3.1")
    for _ in range(2):
        _admin_login(client, staff.email, "wrong-password")

    clock.now += 59
    still_locked = _admin_login(client, staff.email, DEFAULT_PASSWORD)
    clock.now += 2
    after = _admin_login(client, staff.email, DEFAULT_PASSWORD)

    assert LOCKED_MESSAGE in still_locked.content.decode()
    assert after.status_code == 302
    assert _signed_in_to_admin(client)


def test_a_successful_admin_login_is_not_a_failure(staff, lower_rates):
    lower_rates(login="2/min", login_account="2/hour")
    client = Client(REMOTE_ADDR="10.0.4.1")

    statuses = [_admin_login(Client(REMOTE_ADDR="10.0.4.1"), staff.email, DEFAULT_PASSWORD) for _ in range(4)]

    assert [r.status_code for r in statuses] == [302] * 4
    assert _admin_login(client, staff.email, "wrong-password").status_code == 200
    assert _admin_login(client, staff.email, DEFAULT_PASSWORD).status_code == 302


# --- the API login -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", API_LOGINS)
def test_api_login_is_locked_for_an_account_attacked_from_many_addresses(user, lower_rates, path):
    lower_rates(login_account="3/hour")

    failures = [_api_login(path, f"  {user.email.upper()}", "wrong-password", f"10.1.0.{n}") for n in range(3)]
    locked = _api_login(path, user.email, DEFAULT_PASSWORD, "10.1.1.1")

    assert [r.status_code for r in failures] == [401] * 3
    assert locked.status_code == 429
    assert_error_shape(locked.json(), code="throttled")
    assert int(locked["Retry-After"]) > 3000
    assert not locked.cookies
    user.refresh_from_db()
    assert user.last_login is None


@pytest.mark.parametrize("path", API_LOGINS)
def test_api_lockout_ends_after_the_period(user, lower_rates, clock, path):
    lower_rates(login_account="2/hour")
    for n in range(2):
        _api_login(path, user.email, "wrong-password", f"10.1.2.{n}")

    clock.now += 3599
    still_locked = _api_login(path, user.email, DEFAULT_PASSWORD)
    clock.now += 2
    after = _api_login(path, user.email, DEFAULT_PASSWORD)

    assert still_locked.status_code == 429
    assert after.status_code == 200


def test_api_and_admin_logins_share_one_count_per_account(staff, lower_rates):
    lower_rates(login_account="4/hour")

    assert _api_login("/api/token/", staff.email, "wrong-password", "10.2.0.1").status_code == 401
    assert _api_login("/api/auth/login/", staff.email, "wrong-password", "10.2.0.2").status_code == 401
    assert _admin_login(Client(REMOTE_ADDR="10.2.0.3"), staff.email, "wrong-password").status_code == 200
    assert _api_login("/api/token/", staff.email, "wrong-password", "10.2.0.4").status_code == 401

    admin = Client(REMOTE_ADDR="10.2.1.1")
    assert LOCKED_MESSAGE in _admin_login(admin, staff.email, DEFAULT_PASSWORD).content.decode()
    assert not _signed_in_to_admin(admin)
    for path in API_LOGINS:
        assert _api_login(path, staff.email, DEFAULT_PASSWORD, "10.2.1.2").status_code == 429


def test_api_and_admin_logins_share_one_count_per_address(staff, user, lower_rates):
    lower_rates(login="3/min")
    address = "10.3.0.1"

    assert _admin_login(Client(REMOTE_ADDR=address), staff.email, "wrong-password").status_code == 200
    assert _api_login("/api/token/", user.email, "wrong-password", address).status_code == 401
    assert _api_login("/api/auth/login/", user.email, "wrong-password", address).status_code == 401

    assert LOCKED_MESSAGE in _admin_login(Client(REMOTE_ADDR=address), staff.email, DEFAULT_PASSWORD).content.decode()
    assert _api_login("/api/token/", user.email, DEFAULT_PASSWORD, address).status_code == 429
    assert _api_login("/api/token/", user.email, DEFAULT_PASSWORD, "10.3.0.2").status_code == 200


# --- every attempt costs a password hash: successful ones are limited too (generously) --------------


@pytest.mark.parametrize("path", API_LOGINS)
def test_successful_logins_are_limited_per_account(user, lower_rates, path):
    lower_rates(login_attempt_account="3/min")

    successes = [_api_login(path, user.email, DEFAULT_PASSWORD, f"10.5.0.{n}") for n in range(3)]
    refused = _api_login(path, user.email, DEFAULT_PASSWORD, "10.5.1.1")

    assert [r.status_code for r in successes] == [200] * 3
    assert refused.status_code == 429
    assert_error_shape(refused.json(), code="throttled")
    assert 0 < int(refused["Retry-After"]) <= 60
    assert not refused.cookies
    other = UserFactory()
    assert _api_login(path, other.email, DEFAULT_PASSWORD, "10.5.1.1").status_code == 200


@pytest.mark.parametrize("path", API_LOGINS)
def test_successful_logins_are_limited_per_address(lower_rates, path):
    lower_rates(login_attempt="3/min")
    users = UserFactory.create_batch(4)

    successes = [_api_login(path, u.email, DEFAULT_PASSWORD, "10.5.2.1") for u in users[:3]]
    refused = _api_login(path, users[3].email, DEFAULT_PASSWORD, "10.5.2.1")

    assert [r.status_code for r in successes] == [200] * 3
    assert refused.status_code == 429
    assert _api_login(path, users[3].email, DEFAULT_PASSWORD, "10.5.2.2").status_code == 200


def test_api_and_admin_sign_ins_share_the_attempt_limit(staff, lower_rates):
    lower_rates(login_attempt_account="3/min")

    assert _api_login("/api/token/", staff.email, DEFAULT_PASSWORD, "10.5.3.1").status_code == 200
    assert _admin_login(Client(REMOTE_ADDR="10.5.3.2"), staff.email, DEFAULT_PASSWORD).status_code == 302
    assert _api_login("/api/auth/login/", staff.email, "wrong-password", "10.5.3.3").status_code == 401

    admin = Client(REMOTE_ADDR="10.5.3.4")
    assert "Try again in 1" in _admin_login(admin, staff.email, DEFAULT_PASSWORD).content.decode()
    assert not _signed_in_to_admin(admin)
    assert _api_login("/api/token/", staff.email, DEFAULT_PASSWORD, "10.5.3.5").status_code == 429


def test_refused_attempts_do_not_extend_the_wait(user, lower_rates, clock):
    lower_rates(login_attempt_account="2/min")
    for _ in range(2):
        _api_login("/api/token/", user.email, DEFAULT_PASSWORD)

    refused = [_api_login("/api/token/", user.email, DEFAULT_PASSWORD).status_code for _ in range(5)]
    clock.now += 61  # had the five refusals counted, the last window would still be full

    assert refused == [429] * 5
    assert _api_login("/api/token/", user.email, DEFAULT_PASSWORD).status_code == 200


def test_concurrent_failures_are_all_counted(rf, lower_rates, monkeypatch):
    """Counting is an atomic increment, not read-modify-write: with a cache whose reads are slow,
    40 failures recorded at once still count 40 (a list rewritten on each failure kept a few)."""
    lower_rates(login_account="41/hour")
    # On the class: each thread has its own cache object (Django's caches are per thread).
    backend = type(caches["default"])
    for name in ("get", "get_many"):
        real = getattr(backend, name)

        def slow(*args, _real=real, **kwargs):
            values = _real(*args, **kwargs)
            threading.Event().wait(0.005)
            return values

        monkeypatch.setattr(backend, name, slow)
    request = rf.post("/api/token/", REMOTE_ADDR="10.4.0.1")
    start = threading.Barrier(40)

    def fail():
        start.wait()
        throttles.SignInLimiter(request, email="target@example.com").record_failure()

    threads = [threading.Thread(target=fail) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert throttles.SignInLimiter(request, email="target@example.com").admit() is None
    throttles.SignInLimiter(request, email="target@example.com").record_failure()
    assert throttles.SignInLimiter(request, email="target@example.com").admit() is not None


# --- on Redis, as in production: counters shared by every connection, and none lives forever -------

REDIS_URL = "redis://127.0.0.1:6379/9"  # this test suite's own Redis database


@pytest.fixture
def redis_cache(settings):
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        service_missing(f"needs Redis at {REDIS_URL} (CI starts one); the locmem tests above cover the logic")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "t"}
    }
    client.flushdb()
    yield client
    client.flushdb()


def test_on_redis_concurrent_failures_lock_the_account_and_every_key_expires(rf, lower_rates, redis_cache):
    lower_rates(login_account="30/hour", login_attempt_account="1000/min")
    request = rf.post("/api/token/", REMOTE_ADDR="10.8.0.1")
    start = threading.Barrier(30)

    def fail():
        start.wait()  # each thread has its own cache connection, like another instance
        limiter = throttles.SignInLimiter(request, email="target@example.com")
        if limiter.admit() is None:
            limiter.record_failure()

    threads = [threading.Thread(target=fail) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    wait = throttles.SignInLimiter(request, email="Target@Example.com").admit()
    assert wait is not None and 3590 < wait <= 3600
    assert throttles.SignInLimiter(request, email="someone-else@example.com").admit() is None
    keys = redis_cache.keys("*")
    assert keys
    assert all(0 < redis_cache.ttl(key) <= 2 * 3600 for key in keys), {k: redis_cache.ttl(k) for k in keys}
