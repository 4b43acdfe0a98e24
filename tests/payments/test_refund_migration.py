"""The refunds migration on a database that holds refunded payments (payments 0005, orders 0010): each
payment refunded (or being refunded) becomes one refund of its whole amount, an order moved to
REFUNDED has given back its whole total, and a late payment refunded on a cancelled order does not
count as the order's money."""

from decimal import Decimal

import pytest

from orders.models import Order
from payments.models import Refund
from tests.products.test_variant_migration import _leaves, _migrate

BEFORE = {"payments": "0004_razorpay_provider", "orders": "0009_vouchers"}


@pytest.mark.django_db(transaction=True)
def test_refunded_payments_become_refund_rows():
    leaves = _leaves()
    before = [(app, BEFORE.get(app, name)) for app, name in leaves]
    try:
        old = _migrate(before)
        user = old.get_model("users", "User").objects.create(email="old@example.com", password="x")
        OldOrder, OldPayment = old.get_model("orders", "Order"), old.get_model("payments", "Payment")

        def order(number, status):
            return OldOrder.objects.create(
                number=number,
                user=user,
                status=status,
                payment_method="card",
                shipping_address={},
                subtotal=Decimal("19.99"),
                total=Decimal("19.99"),
                currency="usd",
            )

        refunded, cancelled, pending, paid = (
            order("NC-R", "REFUNDED"),
            order("NC-C", "CANCELLED"),
            order("NC-P", "PAID"),
            order("NC-OK", "PAID"),
        )
        for row, status, refund_id in (
            (refunded, "REFUNDED", "re_1"),
            (cancelled, "REFUNDED", "re_2"),
            (pending, "REFUND_PENDING", "re_3"),
            (paid, "SUCCEEDED", ""),
        ):
            OldPayment.objects.create(
                order=row,
                provider="stripe",
                provider_payment_id=f"pi_{row.number}",
                provider_refund_id=refund_id,
                amount_minor=1999,
                currency="usd",
                status=status,
            )
    finally:
        _migrate(leaves)

    rows = {r.order.number: (r.amount_minor, r.status, r.provider_refund_id, r.of_sale) for r in Refund.objects.all()}
    assert rows == {
        "NC-R": (1999, "succeeded", "re_1", True),
        "NC-C": (1999, "succeeded", "re_2", False),
        "NC-P": (1999, "pending", "re_3", False),
    }
    assert dict(Order.objects.values_list("number", "refunded_total")) == {
        "NC-R": Decimal("19.99"),
        "NC-C": Decimal("0.00"),
        "NC-P": Decimal("0.00"),
        "NC-OK": Decimal("0.00"),
    }
