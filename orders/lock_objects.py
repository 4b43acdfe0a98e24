"""Row locks on orders. Call inside `transaction.atomic()`.

The project-wide lock order (CONTRIBUTING.md, "Lock order"): a request's claim row (idempotency
key, webhook event), then cart(s) (cart.lock_objects), then products by primary key
(products.lock_objects), then the order (here), then its payment (payments.lock_objects). Taking
locks in one fixed order is what keeps concurrent checkouts, cancellations and webhooks from
deadlocking each other.
"""

from .models import IdempotencyKey, Order


def lock_order(*, order_id: int) -> Order | None:
    return Order.objects.select_for_update().filter(pk=order_id).order_by().first()


def lock_idempotency_key(*, user, scope: str, key: str) -> IdempotencyKey | None:
    """A request's claim row; taken in its own short transaction before any domain row."""
    return IdempotencyKey.objects.select_for_update().filter(user=user, scope=scope, key=key).first()
