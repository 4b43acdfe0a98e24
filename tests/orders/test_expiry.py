"""Unpaid card orders are cancelled by the system after ORDER_PAYMENT_TIMEOUT_MINUTES."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from orders import services
from orders.models import Order, OrderStatus, PaymentMethod
from orders.tasks import cancel_expired_orders
from orders.transitions import Actor
from products.models import Product
from tests.factories import ProductFactory

from .helpers import place_order

pytestmark = pytest.mark.django_db
S = OrderStatus


def _age(order, minutes):
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_expired_unpaid_card_order_is_cancelled_with_stock_restored(user, settings, django_capture_on_commit_callbacks):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    product = ProductFactory(stock=5)
    expired = place_order(user, lines=[(product, 2)])
    young = place_order(user, lines=[(product, 1)])
    paid = place_order(user, lines=[(product, 1)])
    cod = place_order(user, lines=[(product, 1)], payment_method=PaymentMethod.COD)
    services.order_transition(order_id=paid.pk, to_status=S.PAID, actor=Actor.SYSTEM)
    for order in (expired, paid, cod):
        _age(order, 31)
    _age(young, 29)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = cancel_expired_orders()

    assert cancelled == 1
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {expired.pk: S.CANCELLED, young.pk: S.PENDING, paid.pk: S.PAID, cod.pk: S.PENDING}
    assert Product.objects.get(pk=product.pk).stock == 5 - 1 - 1 - 1
    change = Order.objects.get(pk=expired.pk).status_history.last()
    assert (change.actor_label, change.actor_id, change.note) == ("system", None, "Not paid within 30 minutes.")
    assert [m.subject for m in mail.outbox] == [f"Order {expired.number} was cancelled"]


def test_one_failure_does_not_stop_the_others(user, monkeypatch):
    first = place_order(user)
    second = place_order(user)
    _age(first, 60)
    _age(second, 60)
    real = services.order_transition

    def flaky(*, order_id, **kwargs):
        if order_id == first.pk:
            raise RuntimeError("lock timeout")
        return real(order_id=order_id, **kwargs)

    monkeypatch.setattr(services, "order_transition", flaky)

    assert services.order_cancel_expired() == 1
    assert Order.objects.get(pk=first.pk).status == S.PENDING
    assert Order.objects.get(pk=second.pk).status == S.CANCELLED


def test_management_command(user):
    order = place_order(user)
    _age(order, 45)
    out = StringIO()

    call_command("cancel_expired_orders", stdout=out)

    assert "Cancelled 1 expired order(s)." in out.getvalue()
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
