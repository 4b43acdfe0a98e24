"""A real Celery worker, fed through the local Redis, sends the order confirmation e-mail.

Everything runs in subprocesses against a throwaway SQLite file both the producer and the worker
can open (pytest-django's test database lives in this process only). Run by .ci/run with
NOVACART_CELERY_WORKER_TEST=1; skipped otherwise.
"""

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = "redis://127.0.0.1:6379/15"
WAIT_SECONDS = 60

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        os.environ.get("NOVACART_CELERY_WORKER_TEST") != "1",
        reason="starts a real Celery worker against Redis on 127.0.0.1:6379; "
        "set NOVACART_CELERY_WORKER_TEST=1 (as .ci/run does) to run it",
    ),
]

PLACE_ORDER = """
from decimal import Decimal
from addresses.models import Address
from cart.models import Cart, CartItem
from orders.services import order_place_from_cart
from products.services import product_create
from users.models import User

user = User.objects.create_user(email="worker-it@example.com", password="Str0ng-Passw0rd!", first_name="Grace")
product = product_create(name="Brass Compass", sku="COMPASS-1", price=Decimal("24.50"), stock=3)
cart = Cart.objects.create(user=user)
CartItem.objects.create(cart=cart, product=product, variant=product.variants.get(), quantity=2)
address = Address.objects.create(user=user, full_name="Grace Hopper", phone="+1 555 0100", line1="1 Navy Way",
                                 city="Arlington", postal_code="22201", country="US")
order = order_place_from_cart(user=user, address_id=address.pk, payment_method="card")
print("ORDER", order.number)
"""


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _forget_queue(queue: str) -> None:
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    client.delete(queue)
    for key in client.scan_iter("_kombu.binding.*"):
        for member in client.smembers(key):
            if member.endswith(queue.encode()):
                client.srem(key, member)


def test_real_worker_sends_order_confirmation(tmp_path):
    assert _redis_reachable(), f"Redis is not answering at {BROKER_URL}"
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    queue = f"novacart-it-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "novacart.settings.celery_it",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'it.sqlite3'}",
        "CELERY_BROKER_URL": BROKER_URL,
        "NOVACART_CELERY_QUEUE": queue,
        "NOVACART_EMAIL_DIR": str(outbox),
        "REDIS_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    python = sys.executable

    def manage(*args, timeout=120):
        return subprocess.run(
            [python, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )

    migrated = manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [
                python,
                "-m",
                "celery",
                "-A",
                "novacart",
                "worker",
                "--pool=solo",
                "--queues",
                queue,
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        placed = manage("shell", "-c", PLACE_ORDER)
        assert placed.returncode == 0, placed.stderr[-3000:]
        number = placed.stdout.split("ORDER", 1)[1].split()[0]

        deadline = time.monotonic() + WAIT_SECONDS
        files: list[Path] = []
        while time.monotonic() < deadline:
            files = [f for f in outbox.iterdir() if f.stat().st_size > 0]
            if files or worker.poll() is not None:
                break
            time.sleep(0.5)
        assert worker.poll() is None, f"the worker died:\n{log_path.read_text()[-3000:]}"
        assert files, f"no e-mail within {WAIT_SECONDS}s; worker log:\n{log_path.read_text()[-3000:]}"
        time.sleep(0.5)  # let the backend finish writing the file
        message = files[0].read_text()
        assert f"Subject: Your NovaCart order {number} is confirmed" in message
        assert "To: worker-it@example.com" in message
        assert "Hello Grace," in message
        assert "2 x Brass Compass (COMPASS-1): 49.00 USD" in message
        assert "Total: 49.00 USD" in message
        assert "text/html" in message
        # sent by the worker, not by the producer (which would be the case if tasks ran eagerly)
        assert re.search(r"Task orders\.tasks\.send_order_email\[[0-9a-f-]+\] succeeded", log_path.read_text())
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        _forget_queue(queue)
