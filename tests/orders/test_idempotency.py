"""Idempotency-Key on POST /api/orders/create/ (IETF draft semantics, scoped per user)."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.idempotency import purge_expired_keys
from orders.models import IdempotencyKey, Order
from orders.tasks import purge_idempotency_keys
from products.models import Product
from tests.concurrency import run_concurrently
from tests.conftest import auth_client, requires_postgres
from tests.factories import AddressFactory, ProductFactory, UserFactory, set_stock

from .helpers import fill_cart

URL = "/api/orders/create/"


def _post(client, body, key):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_retry_with_same_key_returns_first_response_and_creates_nothing(user_client, checkout):
    body = {"shipping_address_id": checkout["address"].pk, "payment_method": "card"}

    first = _post(user_client, body, "key-123")
    second = _post(user_client, body, "key-123")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=checkout["products"][0].pk).stock == 8
    key = IdempotencyKey.objects.get()
    assert (key.scope, key.state, key.response_status) == ("orders.create", "completed", 201)


@pytest.mark.django_db
def test_same_key_with_different_body_is_422(user_client, checkout):
    body = {"shipping_address_id": checkout["address"].pk, "payment_method": "card"}
    _post(user_client, body, "key-1")

    response = _post(user_client, {**body, "payment_method": "cod"}, "key-1")

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ünïcode"])
def test_malformed_key_is_400(user_client, checkout, key):
    body = {"shipping_address_id": checkout["address"].pk, "payment_method": "card"}

    response = _post(user_client, body, key)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_idempotency_key"
    assert not Order.objects.exists()
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_failed_request_leaves_key_free_for_a_retry(user_client, checkout):
    mug = checkout["products"][0]
    set_stock(mug, 0)
    body = {"shipping_address_id": checkout["address"].pk, "payment_method": "card"}

    failed = _post(user_client, body, "key-retry")
    set_stock(mug, 10)
    retried = _post(user_client, body, "key-retry")

    assert failed.status_code == 409
    assert retried.status_code == 201
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_per_user(checkout, other_user):
    body = {"shipping_address_id": checkout["address"].pk, "payment_method": "card"}
    first = _post(auth_client(checkout["user"]), body, "shared-key")
    fill_cart(other_user, (ProductFactory(), 1))
    other_address = AddressFactory(user=other_user)

    second = _post(
        auth_client(other_user), {"shipping_address_id": other_address.pk, "payment_method": "card"}, "shared-key"
    )

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


@pytest.mark.django_db
def test_key_older_than_24_hours_is_not_replayed(user_client, checkout):
    body = {"shipping_address_id": checkout["address"].pk, "payment_method": "card"}
    _post(user_client, body, "old-key")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    response = _post(user_client, body, "old-key")

    # treated as a new request: the cart is empty now
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "cart_empty"


@pytest.mark.django_db
def test_purge_removes_only_expired_keys(user):
    fresh = IdempotencyKey.objects.create(user=user, scope="orders.create", key="fresh", request_hash="h")
    old = IdempotencyKey.objects.create(user=user, scope="orders.create", key="old", request_hash="h")
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))

    assert purge_idempotency_keys() == 1
    assert purge_expired_keys() == 0
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_is_409_while_first_is_running(monkeypatch):
    user = UserFactory()
    fill_cart(user, (ProductFactory(stock=5), 2))
    address = AddressFactory(user=user)
    body = {"shipping_address_id": address.pk, "payment_method": "card"}
    entered, release = threading.Event(), threading.Event()
    real_place = services.order_place_from_cart

    def slow_place(**kwargs):
        entered.set()
        assert release.wait(timeout=30)
        return real_place(**kwargs)

    monkeypatch.setattr(services, "order_place_from_cart", slow_place)

    def first_request():
        return _post(auth_client(user), body, "dup-key")

    def retries_while_the_first_is_running():
        try:
            assert entered.wait(timeout=30)
            duplicate = _post(auth_client(user), body, "dup-key")
            different = _post(auth_client(user), {**body, "payment_method": "cod"}, "dup-key")
            return duplicate, different
        finally:
            release.set()

    results, errors = run_concurrently(first_request, retries_while_the_first_is_running)

    assert errors == []
    first, (duplicate, different) = results
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["code"] == "idempotency_request_in_progress"
    assert different.status_code == 422
    assert first.status_code == 201
    replay = _post(auth_client(user), body, "dup-key")
    assert replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
