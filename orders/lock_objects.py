"""Row locks on orders. Call inside `transaction.atomic()`.

The project-wide lock order (CONTRIBUTING.md, "Lock order"): a request's claim row (idempotency
key, webhook event), then cart(s) (cart.lock_objects), then products by primary key
(products.lock_objects), then the voucher (here), then the order (here), then its payment
(payments.lock_objects). Taking locks in one fixed order is what keeps concurrent checkouts,
cancellations and webhooks from deadlocking each other.

The voucher sits after the products and before the order: checkout locks it once the cart and the
stock are held (a voucher is one row that every checkout using it queues on, so it is held for the
shortest time possible: the end of the order transaction), with the conditional update that counts
its use (orders.vouchers.voucher_use_take: an UPDATE takes the row's lock, so no SELECT ... FOR
UPDATE comes first), and a cancellation giving a use back takes it before the order's lock
(`lock_order_voucher`). Nothing that holds a voucher lock waits for
a cart or a product, so a checkout queueing on a popular voucher never blocks another cart.
"""

from .models import IdempotencyKey, Order, OrderReturn, Voucher, VoucherRedemption


def lock_order(*, order_id: int) -> Order | None:
    return Order.objects.select_for_update().filter(pk=order_id).order_by().first()


def lock_idempotency_key(*, user, scope: str, key: str, guest: str = "") -> IdempotencyKey | None:
    """A request's claim row (a user's, or with `user` None a guest's); taken in its own short
    transaction before any domain row."""
    owner = {"user": user} if user is not None else {"user__isnull": True, "guest": guest}
    return IdempotencyKey.objects.select_for_update().filter(**owner, scope=scope, key=key).first()


def lock_voucher(*, voucher_id: int) -> Voucher | None:
    """The voucher row, locked: serialises the uses of one voucher (its per-customer count, staff
    edits of its limits). Take it after the cart and product locks, before the order's."""
    return Voucher.objects.select_for_update().filter(pk=voucher_id).order_by().first()


def lock_order_voucher(*, order_id: int) -> Voucher | None:
    """The voucher an order used (None when it used none), locked: what a cancellation takes before
    `lock_order` when it will give the use back (orders.vouchers.voucher_release)."""
    voucher_id = VoucherRedemption.objects.filter(order_id=order_id).values_list("voucher_id", flat=True).first()
    return None if voucher_id is None else lock_voucher(voucher_id=voucher_id)


def lock_return(*, return_id: int) -> OrderReturn:
    """The return row alone: for a caller already holding its order's lock (payments.refunds)."""
    return OrderReturn.objects.select_for_update().get(pk=return_id)


def lock_return_of_refund(*, refund_id: int) -> OrderReturn | None:
    """The return a refund was made for (None for most refunds), locked after the refund's own locks."""
    return OrderReturn.objects.select_for_update().filter(refund_id=refund_id).first()


def lock_order_return(*, return_id: int) -> tuple[Order, OrderReturn] | None:
    """A return's order, then the return (None when there is no such return). Everything that
    changes a return takes the order first, as every other order write does."""
    order_id = OrderReturn.objects.filter(pk=return_id).values_list("order_id", flat=True).first()
    if order_id is None:
        return None
    order = lock_order(order_id=order_id)
    return order, OrderReturn.objects.select_for_update().get(pk=return_id)
