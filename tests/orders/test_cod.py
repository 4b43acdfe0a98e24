"""Cash on delivery cannot hoard stock: a customer holds at most COD_MAX_OPEN_ORDERS unpaid COD
orders, staff confirm each (PENDING -> PROCESSING), and one left unconfirmed past
COD_CONFIRMATION_HOURS is cancelled by the system with its stock back on the shelf.

The regression of the outside check: one account ordered all 30 units of a product as COD and the
stock stayed reserved for ever (the expiry looked only at card orders)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from cart.models import CartItem
from orders.models import Order, OrderStatus, PaymentMethod
from orders.services import order_cancel_expired, order_transition
from orders.transitions import Actor
from products.models import Product
from tests.conftest import auth_client
from tests.factories import AddressFactory, ProductFactory, UserFactory

from .helpers import fill_cart, place_order

pytestmark = pytest.mark.django_db
S = OrderStatus
COD = PaymentMethod.COD


def _age(order, hours):
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=hours))


def _checkout(user, product, quantity=1, method="cod"):
    fill_cart(user, (product, quantity))
    address = AddressFactory(user=user)
    return auth_client(user).post(
        "/api/orders/create/",
        {"shipping_address_id": address.pk, "payment_method": method},
        format="json",
    )


def test_the_hoarding_account_gets_its_reservation_cancelled_and_the_stock_back(
    user, settings, django_capture_on_commit_callbacks
):
    settings.COD_CONFIRMATION_HOURS = 48
    product = ProductFactory(stock=30)
    hoard = _checkout(user, product, quantity=30)
    assert hoard.status_code == 201
    assert Product.objects.get(pk=product.pk).stock == 0
    order = Order.objects.get(pk=hoard.json()["id"])

    _age(order, 47)
    assert order_cancel_expired() == 0
    _age(order, 49)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert order_cancel_expired() == 1

    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.cancelled_at is not None
    assert Product.objects.get(pk=product.pk).stock == 30
    change = order.status_history.last()
    assert (change.actor_label, change.note) == ("system", "Not confirmed within 48 hours.")
    assert [m.subject for m in mail.outbox] == [f"Order {order.number} was cancelled"]


def test_a_confirmed_cod_order_is_not_expired(user, staff, settings):
    settings.COD_CONFIRMATION_HOURS = 48
    order = place_order(user, payment_method=COD)
    order_transition(order_id=order.pk, to_status=S.PROCESSING, actor=Actor.STAFF, user=staff)
    _age(order, 100)

    assert order_cancel_expired() == 0
    order.refresh_from_db()
    assert order.status == S.PROCESSING and order.processing_at is not None


def test_the_management_command_covers_both_kinds(user, settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    settings.COD_CONFIRMATION_HOURS = 48
    card = place_order(user)
    cod = place_order(user, payment_method=COD)
    _age(card, 1)
    _age(cod, 49)

    out = StringIO()
    call_command("cancel_expired_orders", stdout=out)

    assert "Cancelled 2 expired order(s)." in out.getvalue()
    assert set(Order.objects.values_list("status", flat=True)) == {S.CANCELLED}


def test_a_customer_holds_at_most_the_limit_of_open_cod_orders(user, settings):
    settings.COD_MAX_OPEN_ORDERS = 2
    product = ProductFactory(stock=10)
    assert _checkout(user, product).status_code == 201
    assert _checkout(user, product).status_code == 201

    third = _checkout(user, product)

    assert third.status_code == 409
    assert third.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "too_many_open_orders",
                "detail": "You already have 2 cash-on-delivery order(s) open, the most allowed at once (2); "
                "pay by card or wait until one is delivered.",
                "attr": "payment_method",
            }
        ],
    }
    # Nothing was taken: the cart still holds the line and the stock is what two orders left.
    assert Order.objects.filter(user=user).count() == 2
    assert CartItem.objects.filter(cart__user=user).count() == 1
    assert Product.objects.get(pk=product.pk).stock == 8
    # A card order is still fine.
    CartItem.objects.filter(cart__user=user).delete()
    assert _checkout(user, product, method="card").status_code == 201


def test_delivered_and_cancelled_cod_orders_free_a_place(user, staff, settings):
    settings.COD_MAX_OPEN_ORDERS = 2
    product = ProductFactory(stock=10)
    delivered = place_order(user, payment_method=COD, lines=[(product, 1)])
    cancelled = place_order(user, payment_method=COD, lines=[(product, 1)])
    for target in (S.PROCESSING, S.SHIPPED, S.DELIVERED):
        order_transition(order_id=delivered.pk, to_status=target, actor=Actor.STAFF, user=staff, tracking_number="T")
    order_transition(order_id=cancelled.pk, to_status=S.CANCELLED, actor=Actor.CUSTOMER, user=user)

    assert _checkout(user, product).status_code == 201


def test_confirmed_and_shipped_cod_orders_still_count(user, staff, settings):
    settings.COD_MAX_OPEN_ORDERS = 2
    product = ProductFactory(stock=10)
    confirmed = place_order(user, payment_method=COD, lines=[(product, 1)])
    shipped = place_order(user, payment_method=COD, lines=[(product, 1)])
    order_transition(order_id=confirmed.pk, to_status=S.PROCESSING, actor=Actor.STAFF, user=staff)
    for target in (S.PROCESSING, S.SHIPPED):
        order_transition(order_id=shipped.pk, to_status=target, actor=Actor.STAFF, user=staff, tracking_number="T")

    assert _checkout(user, product).status_code == 409


def test_the_limit_is_per_customer(user, settings):
    settings.COD_MAX_OPEN_ORDERS = 1
    product = ProductFactory(stock=10)
    assert _checkout(user, product).status_code == 201

    assert _checkout(UserFactory(), product).status_code == 201


def test_staff_may_cancel_a_confirmed_cod_order_and_the_stock_comes_back(user, staff):
    product = ProductFactory(stock=3)
    order = place_order(user, payment_method=COD, lines=[(product, 2)])
    order_transition(order_id=order.pk, to_status=S.PROCESSING, actor=Actor.STAFF, user=staff)

    order_transition(order_id=order.pk, to_status=S.CANCELLED, actor=Actor.STAFF, user=staff)

    assert Product.objects.get(pk=product.pk).stock == 3
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED


def test_cash_on_delivery_needs_a_verified_email(settings):
    unverified = UserFactory(email_verified=False)
    product = ProductFactory(stock=5)

    response = _checkout(unverified, product, quantity=2)

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "email_not_verified"
    assert response.json()["type"] == "client_error"
    assert not Order.objects.filter(user=unverified).exists()
    assert Product.objects.get(pk=product.pk).stock == 5
    assert CartItem.objects.filter(cart__user=unverified).count() == 1
    # Paying by card needs no verified e-mail: the money comes first.
    card = auth_client(unverified).post(
        "/api/orders/create/",
        {"shipping_address_id": AddressFactory(user=unverified).pk, "payment_method": "card"},
        format="json",
    )
    assert card.status_code == 201
