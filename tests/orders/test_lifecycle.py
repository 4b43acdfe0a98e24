"""The order lifecycle: every (from, to, actor, payment method) against an explicit table."""

import itertools
from decimal import Decimal
from functools import partial

import pytest
from django.core import mail

from novacart.exceptions import Conflict, ValidationFailed
from orders.emails import send_order_email
from orders.models import Order, OrderStatus, OrderStatusChange, PaymentMethod
from orders.services import order_transition
from orders.transitions import Actor
from products.models import Product
from tests.concurrency import run_concurrently
from tests.conftest import requires_postgres
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, UserFactory

from .helpers import place_order

S = OrderStatus
STATUSES = [s.value for s in OrderStatus]
ACTORS = [a.value for a in Actor]
METHODS = [m.value for m in PaymentMethod]

# Written out by hand on purpose: this is the business rule, not a copy of orders.transitions.
EXPECTED_ALLOWED = {
    ("PENDING", "PAID", "system", "card"),
    ("PENDING", "CANCELLED", "customer", "card"),
    ("PENDING", "CANCELLED", "staff", "card"),
    ("PENDING", "CANCELLED", "system", "card"),
    ("PENDING", "CANCELLED", "customer", "cod"),
    ("PENDING", "CANCELLED", "staff", "cod"),
    ("PENDING", "CANCELLED", "system", "cod"),
    ("PENDING", "PROCESSING", "staff", "cod"),
    ("PAID", "PROCESSING", "staff", "card"),
    ("PROCESSING", "SHIPPED", "staff", "card"),
    ("PROCESSING", "SHIPPED", "staff", "cod"),
    ("PROCESSING", "CANCELLED", "staff", "cod"),
    ("PROCESSING", "REFUNDED", "system", "card"),
    ("PROCESSING", "REFUNDED", "system", "cod"),
    ("PAID", "SHIPPED", "staff", "card"),
    ("PAID", "SHIPPED", "staff", "cod"),
    ("SHIPPED", "DELIVERED", "staff", "card"),
    ("SHIPPED", "DELIVERED", "staff", "cod"),
    ("PAID", "REFUNDED", "system", "card"),
    ("PAID", "REFUNDED", "system", "cod"),
    ("SHIPPED", "REFUNDED", "system", "card"),
    ("SHIPPED", "REFUNDED", "system", "cod"),
    ("DELIVERED", "REFUNDED", "system", "card"),
    ("DELIVERED", "REFUNDED", "system", "cod"),
}
# Moves that put the stock back on the shelf.
EXPECTED_RESTOCK = {
    ("PENDING", "CANCELLED"),
    ("PROCESSING", "CANCELLED"),
    ("PAID", "REFUNDED"),
    ("PROCESSING", "REFUNDED"),
}


def _order(status: str, method: str, *, quantity=2, stock=5) -> Order:
    product = ProductFactory(stock=stock, price=Decimal("10.00"))
    order = OrderFactory(status=status, payment_method=method, total=Decimal("20.00"), subtotal=Decimal("20.00"))
    OrderItemFactory(order=order, product=product, quantity=quantity)
    return order


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("from_status", "to_status", "actor", "method"),
    list(itertools.product(STATUSES, STATUSES, ACTORS, METHODS)),
)
def test_transition_grid(from_status, to_status, actor, method, staff, django_capture_on_commit_callbacks):
    order = _order(from_status, method)
    product = order.items.get().product

    if from_status == to_status:
        with django_capture_on_commit_callbacks(execute=True):
            result = order_transition(order_id=order.pk, to_status=to_status, actor=Actor(actor), user=staff)
        assert result.status == from_status
        assert not OrderStatusChange.objects.filter(order=order).exists()
        assert mail.outbox == []
        return

    call = {
        "order_id": order.pk,
        "to_status": to_status,
        "actor": Actor(actor),
        "user": staff,
        "tracking_number": "1Z999",
        "note": "grid",
    }
    if (from_status, to_status, actor, method) in EXPECTED_ALLOWED:
        with django_capture_on_commit_callbacks(execute=True):
            result = order_transition(**call)
        order.refresh_from_db()
        assert result.status == order.status == to_status
        change = OrderStatusChange.objects.get(order=order)
        assert (change.from_status, change.to_status, change.actor_label, change.note) == (
            from_status,
            to_status,
            actor,
            "grid",
        )
        expected_stock = 7 if (from_status, to_status) in EXPECTED_RESTOCK else 5
        assert Product.objects.get(pk=product.pk).stock == expected_stock
        assert len(mail.outbox) == 1
    else:
        with pytest.raises(Conflict) as excinfo:
            order_transition(**call)
        assert excinfo.value.code == "invalid_transition"
        order.refresh_from_db()
        assert order.status == from_status
        assert not OrderStatusChange.objects.filter(order=order).exists()
        assert Product.objects.get(pk=product.pk).stock == 5


@pytest.mark.django_db
def test_card_order_full_journey_sets_timestamps_and_history(user, staff, django_capture_on_commit_callbacks):
    order = place_order(user)

    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order_id=order.pk, to_status=S.PAID, actor=Actor.SYSTEM, note="Stripe pi_1")
        order_transition(order_id=order.pk, to_status=S.SHIPPED, actor=Actor.STAFF, user=staff, tracking_number="TRK-1")
        order_transition(order_id=order.pk, to_status=S.DELIVERED, actor=Actor.STAFF, user=staff)

    order.refresh_from_db()
    assert order.status == S.DELIVERED
    assert order.tracking_number == "TRK-1"
    assert order.paid_at <= order.shipped_at <= order.delivered_at
    assert list(order.status_history.values_list("from_status", "to_status", "actor_label")) == [
        ("", "PENDING", "customer"),
        ("PENDING", "PAID", "system"),
        ("PAID", "SHIPPED", "staff"),
        ("SHIPPED", "DELIVERED", "staff"),
    ]
    assert order.status_history.get(to_status=S.SHIPPED).actor == staff
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"Payment received for order {order.number}",
        f"Order {order.number} is on its way",
        f"Order {order.number} was delivered",
    ]
    assert "Tracking number: TRK-1." in mail.outbox[1].body


@pytest.mark.django_db
def test_cod_order_is_marked_paid_on_delivery(user, staff):
    order = place_order(user, payment_method=PaymentMethod.COD)

    order_transition(order_id=order.pk, to_status=S.PROCESSING, actor=Actor.STAFF, user=staff)
    order_transition(order_id=order.pk, to_status=S.SHIPPED, actor=Actor.STAFF, user=staff, tracking_number="T1")
    order.refresh_from_db()
    assert order.paid_at is None
    assert order.processing_at is not None
    order_transition(order_id=order.pk, to_status=S.DELIVERED, actor=Actor.STAFF, user=staff)

    order.refresh_from_db()
    assert order.status == S.DELIVERED
    assert order.paid_at == order.delivered_at


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "method"), [(S.PAID, "card"), (S.PROCESSING, "card"), (S.PROCESSING, "cod")])
@pytest.mark.parametrize("tracking", ["", "   "])
def test_shipping_requires_tracking_number(staff, status, method, tracking):
    order = _order(status, method)

    with pytest.raises(ValidationFailed) as excinfo:
        order_transition(
            order_id=order.pk, to_status=S.SHIPPED, actor=Actor.STAFF, user=staff, tracking_number=tracking
        )

    assert excinfo.value.code == "tracking_number_required"
    order.refresh_from_db()
    assert order.status == status and order.shipped_at is None
    assert not order.status_history.exists()


@pytest.mark.django_db
def test_cancel_restores_stock_of_every_line(user):
    first, second = ProductFactory(stock=5), ProductFactory(stock=3)
    order = place_order(user, lines=[(first, 2), (second, 3)])
    assert (Product.objects.get(pk=first.pk).stock, Product.objects.get(pk=second.pk).stock) == (3, 0)

    order_transition(order_id=order.pk, to_status=S.CANCELLED, actor=Actor.CUSTOMER, user=user)
    # a second cancel (retry) is a no-op and does not restock twice
    order_transition(order_id=order.pk, to_status=S.CANCELLED, actor=Actor.CUSTOMER, user=user)

    assert (Product.objects.get(pk=first.pk).stock, Product.objects.get(pk=second.pk).stock) == (5, 3)
    assert order.status_history.filter(to_status=S.CANCELLED).count() == 1


@pytest.mark.django_db
def test_refund_after_shipping_does_not_restock(user, staff):
    product = ProductFactory(stock=4)
    order = place_order(user, lines=[(product, 1)])
    order_transition(order_id=order.pk, to_status=S.PAID, actor=Actor.SYSTEM)
    order_transition(order_id=order.pk, to_status=S.SHIPPED, actor=Actor.STAFF, user=staff, tracking_number="T")

    order_transition(order_id=order.pk, to_status=S.REFUNDED, actor=Actor.SYSTEM, note="charge.refunded")

    order.refresh_from_db()
    assert order.status == S.REFUNDED and order.refunded_at is not None
    assert Product.objects.get(pk=product.pk).stock == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("steps", "subject", "phrase"),
    [
        ([(S.PAID, Actor.SYSTEM)], "Payment received for order {n}", "We have received your payment of 10.00 USD"),
        ([(S.CANCELLED, Actor.CUSTOMER)], "Order {n} was cancelled", "Your order was cancelled"),
        ([(S.PAID, Actor.SYSTEM), (S.SHIPPED, Actor.STAFF)], "Order {n} is on its way", "Tracking number: ZX9."),
        (
            [(S.PAID, Actor.SYSTEM), (S.SHIPPED, Actor.STAFF), (S.DELIVERED, Actor.STAFF)],
            "Order {n} was delivered",
            "Your order was delivered",
        ),
        ([(S.PAID, Actor.SYSTEM), (S.REFUNDED, Actor.SYSTEM)], "Order {n} was refunded", "We have refunded 10.00 USD"),
    ],
)
def test_each_transition_mails_the_customer(user, staff, django_capture_on_commit_callbacks, steps, subject, phrase):
    order = place_order(user)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for to_status, actor in steps:
            order_transition(order_id=order.pk, to_status=to_status, actor=actor, user=staff, tracking_number="ZX9")

    last = mail.outbox[-1]
    assert len(mail.outbox) == len(steps)
    assert last.to == [user.email]
    assert last.subject == subject.format(n=order.number)
    assert phrase in last.body
    html = last.alternatives[0].content
    assert phrase.split(":")[0] in html
    assert order.number in html


@pytest.mark.django_db
def test_payment_failed_email(user):
    order = place_order(user)
    mail.outbox.clear()

    send_order_email(order.pk, "payment_failed")

    assert mail.outbox[0].subject == f"Payment for order {order.number} did not go through"
    assert "Your payment did not go through" in mail.outbox[0].body


@pytest.mark.django_db
def test_unknown_email_kind_and_missing_order_send_nothing(user):
    order = place_order(user)
    mail.outbox.clear()

    send_order_email(order.pk, "birthday")
    send_order_email(999999, "paid")

    assert mail.outbox == []


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_racing_payment_ends_in_exactly_one_state():
    """A customer cancel and a payment confirmation at the same time: the order row lock lets
    one of them win; the loser gets invalid_transition. Many rounds to give the race a chance."""
    user = UserFactory()
    product = ProductFactory(stock=1000)
    outcomes = {"PAID": 0, "CANCELLED": 0}
    for _round in range(30):
        order = place_order(user, lines=[(product, 2)])
        stock_after_order = Product.objects.get(pk=product.pk).stock

        def move(to_status, actor, order_id=order.pk):
            return order_transition(order_id=order_id, to_status=to_status, actor=actor, user=user)

        results, errors = run_concurrently(
            partial(move, S.PAID, Actor.SYSTEM), partial(move, S.CANCELLED, Actor.CUSTOMER)
        )

        order.refresh_from_db()
        assert order.status in (S.PAID, S.CANCELLED)
        outcomes[order.status] += 1
        assert len(results) == 1
        assert len(errors) == 1 and isinstance(errors[0], Conflict) and errors[0].code == "invalid_transition"
        history = list(order.status_history.values_list("from_status", "to_status"))
        assert history == [("", "PENDING"), ("PENDING", order.status)]
        stock = Product.objects.get(pk=product.pk).stock
        assert stock == (stock_after_order + 2 if order.status == S.CANCELLED else stock_after_order)
        if order.status == S.CANCELLED:
            assert order.cancelled_at is not None and order.paid_at is None
        else:
            assert order.paid_at is not None and order.cancelled_at is None
    assert sum(outcomes.values()) == 30
