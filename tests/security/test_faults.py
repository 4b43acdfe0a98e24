"""Faults outside the application: a broker that is down, a database that stops answering.

(Stripe failing, rate-limiting or timing out, and webhook handlers raising, are the payments tests'.)
"""

import logging
import socket

import pytest
from django.db import InterfaceError, connection
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError

from novacart.celery import app as celery_app
from orders.emails import send_order_email
from orders.models import Order, OrderStatus
from tests.conftest import auth_client

from .conftest import assert_error_shape


def _closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(settings):
    """Celery really tries to publish, to a broker that refuses connections, quickly."""
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    saved_changes = dict(celery_app.conf.changes)
    # The Celery app reads Django's settings (namespace CELERY_) ...
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = url
    # ... but also caches a producer pool and may hold its own overrides: set both, briefly.
    celery_app.conf.update(
        task_always_eager=False,
        broker_url=url,
        broker_connection_timeout=1,
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        task_publish_retry=False,
        broker_transport_options={"max_retries": 0},
    )
    _drop_connections()
    yield url
    celery_app.conf.changes.clear()
    celery_app.conf.changes.update(saved_changes)
    _drop_connections()


def _drop_connections() -> None:
    """Forget the connection and producer pools built for whatever broker an earlier test used."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _place_order(world):
    return auth_client(world.owner).post(
        "/api/orders/create/", {"shipping_address_id": world.address.pk, "payment_method": "card"}, format="json"
    )


def test_an_order_is_created_when_the_broker_is_unreachable(
    world, broker_down, caplog, django_capture_on_commit_callbacks
):
    assert celery_app.conf.broker_url == broker_down and not celery_app.conf.task_always_eager
    caplog.set_level(logging.ERROR, logger="novacart.tasks")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _place_order(world)

    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert order.status == OrderStatus.PENDING and order.user == world.owner
    assert callbacks, "the confirmation e-mail task was not scheduled after commit"
    failures = [r for r in caplog.records if r.name == "novacart.tasks" and "could not queue task" in r.getMessage()]
    assert failures, [r.getMessage() for r in caplog.records]
    assert send_order_email.name in failures[0].getMessage()
    assert failures[0].exc_info is not None  # logged with the broker's error


def test_an_order_is_created_when_publishing_raises_an_operational_error(
    world, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    calls = []

    def broker_refuses(*args, **kwargs):
        calls.append(args)
        raise OperationalError("Error 111 connecting to broker:6379. Connection refused.")

    monkeypatch.setattr(send_order_email, "delay", broker_refuses)
    caplog.set_level(logging.ERROR, logger="novacart.tasks")

    with django_capture_on_commit_callbacks(execute=True):
        response = _place_order(world)

    assert response.status_code == 201, response.content
    assert calls, "the task was never queued"
    assert Order.objects.filter(pk=response.json()["id"], status=OrderStatus.PENDING).exists()
    assert any("could not queue task" in r.getMessage() for r in caplog.records)


def test_a_cancellation_goes_through_when_the_broker_is_unreachable(
    world, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(world.owner).post(f"/api/orders/cancel/{world.order.pk}/")

    assert response.status_code == 200, response.content
    world.order.refresh_from_db()
    assert world.order.status == OrderStatus.CANCELLED


@pytest.mark.parametrize(
    "error", [InterfaceError("connection already closed"), DatabaseOperationalError("server closed the connection")]
)
def test_health_is_503_in_the_shape_when_the_query_itself_fails(db, api_client, monkeypatch, error):
    """tests/core covers cursor() failing; here the connection opens and the query dies."""

    class DyingCursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, *args, **kwargs):
            raise error

    with monkeypatch.context() as patch:  # undone before the test database is torn down
        patch.setattr(connection, "cursor", lambda *a, **k: DyingCursor())
        response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert_error_shape(response)
    assert response.json()["errors"][0]["code"] == "database_unavailable"
