"""Voucher uses under contention on PostgreSQL: the conditional update and the voucher's row lock keep
the count within the limits however many checkouts and cancellations race."""

from functools import partial

import pytest
from django.db import transaction

from novacart.exceptions import Conflict
from orders import vouchers
from orders.lock_objects import lock_order, lock_order_voucher
from orders.models import Voucher, VoucherRedemption
from tests.concurrency import run_concurrently
from tests.conftest import requires_postgres
from tests.factories import OrderFactory, UserFactory, VoucherFactory

THREADS = 20


def _redeem(voucher_id, order, user):
    """What order placement does: its own transaction, the use counted once the order row exists."""
    with transaction.atomic():
        return vouchers.voucher_redeem(voucher_id=voucher_id, order=order, user=user)


def _release(order):
    """What a cancellation does: the voucher's lock before the order's, then the use given back."""
    with transaction.atomic():
        lock_order_voucher(order_id=order.pk)
        lock_order(order_id=order.pk)
        return vouchers.voucher_release(order=order)


def _codes(errors) -> list[str]:
    return [error.code if isinstance(error, Conflict) else repr(error) for error in errors]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_checkouts_for_the_last_use_make_exactly_one_redemption():
    voucher = VoucherFactory(usage_limit=1)
    buyers = [UserFactory() for _ in range(THREADS)]
    orders = [OrderFactory(user=buyer) for buyer in buyers]

    results, errors = run_concurrently(
        *[partial(_redeem, voucher.pk, orders[i], buyers[i]) for i in range(THREADS)], timeout=120
    )

    assert len(results) == 1
    assert _codes(errors) == ["voucher_exhausted"] * (THREADS - 1)
    voucher.refresh_from_db()
    assert voucher.used_count == 1
    assert list(VoucherRedemption.objects.values_list("order_id", flat=True)) == [results[0].order_id]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_one_customer_checking_out_in_many_tabs_gets_their_one_use_once():
    voucher = VoucherFactory(per_customer_limit=1)
    customer = UserFactory()
    orders = [OrderFactory(user=customer) for _ in range(10)]

    results, errors = run_concurrently(*[partial(_redeem, voucher.pk, order, customer) for order in orders])

    assert len(results) == 1
    assert _codes(errors) == ["voucher_exhausted"] * 9
    assert Voucher.objects.get(pk=voucher.pk).used_count == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_releasing_one_order_from_many_threads_gives_its_use_back_once():
    voucher = VoucherFactory(usage_limit=5)
    kept, cancelled = OrderFactory(), OrderFactory()
    _redeem(voucher.pk, kept, kept.user)
    _redeem(voucher.pk, cancelled, cancelled.user)

    results, errors = run_concurrently(*[partial(_release, cancelled) for _ in range(10)])

    assert errors == []
    assert sorted(results) == [False] * 9 + [True]
    assert Voucher.objects.get(pk=voucher.pk).used_count == 1
    assert list(VoucherRedemption.objects.values_list("order_id", flat=True)) == [kept.pk]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_checkouts_and_cancellations_racing_keep_the_count_equal_to_the_uses_on_record():
    """Ten cancellations give uses back while twenty checkouts compete for what is free: the counter
    never passes the limit, never drifts from the redemptions on record, and nothing deadlocks."""
    voucher = VoucherFactory(usage_limit=10)
    placed = [OrderFactory() for _ in range(10)]
    for order in placed:
        _redeem(voucher.pk, order, order.user)
    buyers = [UserFactory() for _ in range(THREADS)]
    new_orders = [OrderFactory(user=buyer) for buyer in buyers]

    work = [partial(_release, order) for order in placed] + [
        partial(_redeem, voucher.pk, new_orders[i], buyers[i]) for i in range(THREADS)
    ]
    results, errors = run_concurrently(*work, timeout=120)

    assert set(_codes(errors)) <= {"voucher_exhausted"}
    voucher.refresh_from_db()
    assert voucher.used_count == VoucherRedemption.objects.filter(voucher=voucher).count() <= 10
    assert sorted(result for result in results if isinstance(result, bool)) == [True] * 10
    redeemed = [result.order_id for result in results if isinstance(result, VoucherRedemption)]
    assert sorted(redeemed) == sorted(
        VoucherRedemption.objects.filter(order__in=new_orders).values_list("order_id", flat=True)
    )
