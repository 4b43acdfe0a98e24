"""Two app instances on one PostgreSQL and one Redis, the way render.yaml scales the web service.

The module starts two servers as render.yaml runs production: gunicorn with the project's
gunicorn.conf.py (two sync workers each, WEB_CONCURRENCY as in the blueprint) and
`novacart.settings.prod`, in separate processes on their own ports. Both point at the test
database (pytest-django's `test_<name>`; every test is `transaction=True`, so what it creates is
committed and visible to them) and at Redis database 10 (cache, throttle counters and the Celery
broker; flushed before and after each test). Each test then drives both at once over HTTP.

Requests carry what Render's proxy adds: the public host name (the same on both instances, so
they share cache keys as they do behind the load balancer) and `X-Forwarded-Proto: https`.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from cart.models import CartItem
from orders.models import Order, OrderItem, OrderStatus
from payments.models import PaymentStatus, WebhookEvent
from products.models import Product
from tests.conftest import REQUIRE_SERVICES, requires_postgres
from tests.factories import AddressFactory, PaymentFactory, ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import fill_cart
from tests.payments.fake_stripe import SECRET_KEY as STRIPE_TEST_SECRET_KEY
from tests.payments.fake_stripe import FakeStripe, sign_payload
from tests.payments.helpers import WEBHOOK_SECRET, WEBHOOK_URL, make_order, succeeded_event, transitions
from users.services import tokens_for_user

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/10"
PUBLIC_HOST = "shop.example.com"
START_SECONDS = 30
REQUEST_SECONDS = 30


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _postgres_reachable() -> bool:
    db = settings.DATABASES["default"]
    if (db["HOST"] or "").startswith("/"):
        return True  # a Unix socket: pytest-django's own connection will say
    try:
        with socket.create_connection((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)), timeout=1):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.postgres,
    requires_postgres,
    pytest.mark.skipif(
        settings.IS_POSTGRES and not REQUIRE_SERVICES and not _postgres_reachable(),
        reason="PostgreSQL from DATABASE_URL is not reachable: two app instances need a shared database",
    ),
    pytest.mark.skipif(
        settings.IS_POSTGRES and not REQUIRE_SERVICES and not _redis_reachable(),
        reason=f"Redis is not answering at {REDIS_URL}: two app instances need a shared cache",
    ),
    pytest.mark.django_db(transaction=True),
]


# --- The servers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict
    body: object


class Instance:
    """One app server: a gunicorn master and its workers, reached over plain HTTP as from the proxy."""

    def __init__(self, name: str, process: subprocess.Popen, port: int, log_path: Path, database_url: str):
        self.name = name
        self.process = process
        self.port = port
        self.log_path = log_path
        self.database_url = database_url

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def request(self, method: str, path: str, body=None, *, token: str | None = None, headers=None) -> Answer:
        sent = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https", "Accept": "application/json"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_SECONDS)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        is_json = answer_headers.get("content-type", "").startswith("application/json")
        return Answer(response.status, answer_headers, json.loads(raw) if raw and is_json else raw)

    def get(self, path: str, **kw) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, body=None, **kw) -> Answer:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body=None, **kw) -> Answer:
        return self.request("PATCH", path, body, **kw)


def _database_url() -> str:
    """The test database this process uses (pytest-django's `test_<name>`), as a URL for the servers."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "127.0.0.1", safe="")  # a Unix socket directory is percent-encoded
    port = db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


def _server_env(stripe_api_base: str) -> dict:
    """A complete production configuration, from the environment only, as render.yaml gives it."""
    inherited = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "PYTHONPATH") if k in os.environ}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "novacart.settings.prod",
        # The same key as this process: the tokens minted here are verified there.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": PUBLIC_HOST,
        "FRONTEND_URL": f"https://{PUBLIC_HOST}",
        "CORS_ALLOWED_ORIGINS": f"https://{PUBLIC_HOST}",
        "CSRF_TRUSTED_ORIGINS": f"https://{PUBLIC_HOST}",
        # A real backend as production must have one; the web sends nothing itself (tasks go to the
        # broker, which no worker reads here).
        "EMAIL_HOST": "smtp.example.com",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CATALOG_CACHE_SECONDS": "60",
        "WEB_CONCURRENCY": "2",
        "PAYMENT_GATEWAY": "stripe",
        "STRIPE_SECRET_KEY": STRIPE_TEST_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_novacart_fake",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_api_base,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "STRIPE_TIMEOUT_SECONDS": "2",
        # Every request of a test comes from 127.0.0.1: limits that a test never reaches.
        "THROTTLE_LOGIN_RATE": "100000/min",
        "THROTTLE_AUTH_RATE": "100000/min",
        "THROTTLE_PASSWORD_RESET_RATE": "100000/min",
        "THROTTLE_ANON_RATE": "100000/min",
        "THROTTLE_USER_RATE": "100000/min",
        "PYTHONUNBUFFERED": "1",
    }


def _start(name: str, env: dict, log_dir: Path) -> Instance:
    """gunicorn as render.yaml starts it, on a socket bound here (a free port nobody can take first)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    log_path = log_dir / f"instance-{name}.log"
    try:
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "novacart.wsgi:application",
                    "--config",
                    "gunicorn.conf.py",
                    "--bind",
                    f"fd://{listener.fileno()}",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
                start_new_session=True,
            )
    finally:
        listener.close()  # the server holds its own copy
    return Instance(name, process, port, log_path, env["DATABASE_URL"])


def _wait_ready(instances: list[Instance]) -> None:
    deadline = time.monotonic() + START_SECONDS
    waiting = list(instances)
    while waiting:
        for instance in list(waiting):
            if instance.process.poll() is not None:
                pytest.fail(
                    f"instance {instance.name} exited with {instance.process.returncode} while starting:\n"
                    f"{instance.log_tail()}"
                )
            try:
                if instance.get("/api/health/").status == 200:
                    waiting.remove(instance)
            except OSError:
                pass
        if waiting and time.monotonic() > deadline:
            pytest.fail(
                f"no 200 from /api/health/ within {START_SECONDS}s:\n"
                + "\n".join(f"--- {i.name}:\n{i.log_tail()}" for i in waiting)
            )
        if waiting:
            time.sleep(0.2)


def _stop(instances: list[Instance]) -> None:
    """TERM to every master at once (each stops its workers), then SIGKILL to what is still running."""
    running = [i for i in instances if i.process.poll() is None]
    for instance in running:
        instance.process.terminate()
    for instance in running:
        try:
            instance.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(instance.process.pid, signal.SIGKILL)  # its own session: the master and its workers
            instance.process.wait(timeout=10)


@pytest.fixture
def shared_redis():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()  # database 10 only
    yield client
    client.flushdb()


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    """Two running app servers, A and B, for the whole module (starting them costs seconds)."""
    fake_stripe = FakeStripe().start()
    started = [_start(name, _server_env(fake_stripe.url), tmp_path_factory.mktemp("instances")) for name in "AB"]
    try:
        _wait_ready(started)
        yield started
    finally:
        _stop(started)
        fake_stripe.stop()


@pytest.fixture
def instances(servers, transactional_db, shared_redis):
    """A and B, on the database this transaction=True test commits to, with an empty Redis database 10."""
    assert servers[0].database_url == _database_url()  # the name pytest-django gave the test database
    yield servers
    for instance in servers:
        if instance.process.poll() is not None:
            pytest.fail(f"instance {instance.name} exited with {instance.process.returncode}:\n{instance.log_tail()}")


def _at_once(calls: list) -> list[Answer]:
    """Runs every call in its own thread, released together; returns their answers in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index]()
        except Exception as exc:  # surfaced below, with the others
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_SECONDS * 2)
    failed = [r for r in results if not isinstance(r, Answer)]
    if failed:
        pytest.fail(f"requests that got no HTTP answer: {failed}")
    return results


def _queued_tasks(client: redis.Redis) -> list[tuple[str, str]]:
    """(task name, arguments) of every message the servers queued for Celery (the default queue)."""
    messages = [json.loads(raw) for raw in client.lrange("celery", 0, -1)]
    return sorted((m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages)


def _access_token(user) -> str:
    return tokens_for_user(user)["access"]


# --- The tests --------------------------------------------------------------------------------

BUYERS = 40
STOCK = 10


def test_forty_buyers_on_two_instances_for_ten_units_make_exactly_ten_orders(instances, shared_redis):
    a, b = instances
    product = ProductFactory(stock=STOCK, price=Decimal("9.99"), name="Limited Print", sku="PRINT-2I")
    buyers = []
    for _ in range(BUYERS):
        user = UserFactory()
        fill_cart(user, (product, 1))
        buyers.append((_access_token(user), AddressFactory(user=user).pk))

    def buy(index):
        token, address_id = buyers[index]
        server = (a, b)[index % 2]
        body = {"shipping_address_id": address_id, "payment_method": "card"}
        return lambda: server.post(
            "/api/orders/create/", body, token=token, headers={"Idempotency-Key": f"two-instances-{index}"}
        )

    answers = _at_once([buy(i) for i in range(BUYERS)])

    statuses = sorted(answer.status for answer in answers)
    assert statuses == [201] * STOCK + [409] * (BUYERS - STOCK), Counter(statuses)
    for answer in answers:
        if answer.status == 409:
            assert answer.body["errors"] == [
                {
                    "code": "out_of_stock",
                    "detail": "Only 0 of Limited Print (PRINT-2I) available; you asked for 1.",
                    "attr": f"items.{product.pk}",
                }
            ]
        else:
            assert answer.body["status"] == OrderStatus.PENDING
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.count() == STOCK
    assert OrderItem.objects.filter(product=product).count() == STOCK
    assert CartItem.objects.filter(product=product).count() == BUYERS - STOCK
    assert _queued_tasks(shared_redis) == sorted(
        ("orders.tasks.send_order_email", f"({pk}, 'confirmation')")
        for pk in Order.objects.values_list("pk", flat=True)
    )


def test_a_webhook_delivered_to_both_instances_at_once_is_processed_once(instances, shared_redis, user):
    a, b = instances
    order = make_order(user, total="19.99")
    payment = PaymentFactory(order=order, provider_payment_id="pi_test_two_instances", amount_minor=1999)
    body = json.dumps(succeeded_event("pi_test_two_instances", amount=1999)).encode()
    signature = sign_payload(body, WEBHOOK_SECRET)

    def deliver(server):
        return lambda: server.post(WEBHOOK_URL, body, headers={"Stripe-Signature": signature})

    answers = _at_once([deliver(a), deliver(b), deliver(a), deliver(b)])

    assert [answer.status for answer in answers] == [200] * 4, [(x.status, x.body) for x in answers]
    assert sorted(answer.body["duplicate"] for answer in answers) == [False, True, True, True]
    [event] = WebhookEvent.objects.all()
    assert event.processed_at is not None
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)
    assert transitions(order, OrderStatus.PAID) == 1
    assert order.status_history.count() == 1
    assert _queued_tasks(shared_redis) == [("orders.tasks.send_order_email", f"({order.pk}, 'paid')")]


def test_a_catalog_write_on_one_instance_is_seen_at_once_on_the_other(instances):
    a, b = instances
    product = ProductFactory(name="Brass Compass", price=Decimal("24.50"))
    detail, listing = f"/api/products/{product.pk}/", "/api/products/"

    def shown(server):
        one, page = server.get(detail), server.get(listing)
        assert (one.status, page.status) == (200, 200), (one.body, page.body)
        [row] = [p for p in page.body["results"] if p["id"] == product.pk]
        return {
            "detail": (one.body["name"], one.body["price"], one.headers.get("x-catalog-cache")),
            "list": (row["name"], row["price"], page.headers.get("x-catalog-cache")),
        }

    # A renders and caches both; B is served A's entries: the cache is shared, not per process.
    assert shown(a) == {"detail": ("Brass Compass", "24.50", "miss"), "list": ("Brass Compass", "24.50", "miss")}
    assert shown(b) == {"detail": ("Brass Compass", "24.50", "hit"), "list": ("Brass Compass", "24.50", "hit")}

    written = a.patch(detail, {"name": "Brass Compass II", "price": "27.00"}, token=_access_token(StaffFactory()))
    assert written.status == 200, written.body

    assert shown(b) == {
        "detail": ("Brass Compass II", "27.00", "miss"),
        "list": ("Brass Compass II", "27.00", "miss"),
    }
    assert shown(a) == {"detail": ("Brass Compass II", "27.00", "hit"), "list": ("Brass Compass II", "27.00", "hit")}


REFRESHES = 10
ROUNDS = 5


def test_one_refresh_token_sent_to_both_instances_at_once_refreshes_once(instances, user):
    a, b = instances
    outcomes = []
    # Several rounds, each with a fresh token: one round can miss a race by chance, five in a row do not.
    for _round in range(ROUNDS):
        refresh = tokens_for_user(user)["refresh"]
        answers = _at_once(
            [
                lambda server=(a, b)[i % 2], body={"refresh": refresh}: server.post("/api/token/refresh/", body)
                for i in range(REFRESHES)
            ]
        )
        outcomes.append(sorted(answer.status for answer in answers))

    if any(status >= 500 for statuses in outcomes for status in statuses):
        pytest.fail(f"5xx from a refresh: {outcomes}")
    successes = [statuses.count(200) for statuses in outcomes]
    assert successes == [1] * ROUNDS, f"200s per round of {REFRESHES}: {successes}; all answers: {outcomes}"
    assert all(set(statuses) == {200, 401} for statuses in outcomes), outcomes
