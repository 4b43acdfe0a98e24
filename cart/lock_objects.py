"""Row locks on carts. Call inside `transaction.atomic()`.

The project-wide lock order (CONTRIBUTING.md, "Lock order"): a request's claim row (idempotency
key, webhook event), then cart(s) by primary key, then products by primary key, then the voucher,
then order, then payment. Every helper that locks a row of this app lives here.
"""

from collections.abc import Iterable

from .models import Cart


def lock_cart(*, cart_id: int) -> Cart | None:
    return Cart.objects.select_for_update().filter(pk=cart_id).order_by().first()


def lock_user_cart(*, user) -> Cart | None:
    """The user's cart, locked (carts are one per user); None when the user has none."""
    return Cart.objects.select_for_update().filter(user=user).order_by().first()


def lock_carts(*, cart_ids: Iterable[int]) -> dict[int, Cart]:
    """Locks several carts in ascending primary-key order (a merge locks two) and returns them by id."""
    carts = Cart.objects.select_for_update().filter(pk__in=sorted(set(cart_ids))).order_by("pk")
    return {cart.pk: cart for cart in carts}
