"""The one place that knows the order in which rows are locked.

Always: cart, then products (sorted by primary key), then order, then payment.
Taking locks in one fixed order is what keeps concurrent checkouts, cancellations
and webhooks from deadlocking each other. Call these inside `transaction.atomic()`.
"""

from collections.abc import Iterable

from cart.models import Cart
from products.models import Product

from .models import Order


def lock_cart(*, cart_id: int) -> Cart | None:
    return Cart.objects.select_for_update().filter(pk=cart_id).order_by().first()


def lock_user_cart(*, user) -> Cart | None:
    """The user's cart, locked (carts are one per user); None when the user has none."""
    return Cart.objects.select_for_update().filter(user=user).order_by().first()


def lock_products(*, product_ids: Iterable[int]) -> dict[int, Product]:
    """Locks the products in ascending primary-key order and returns them by id."""
    ids = sorted(set(product_ids))
    products = Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {product.pk: product for product in products}


def lock_order(*, order_id: int) -> Order | None:
    return Order.objects.select_for_update().filter(pk=order_id).order_by().first()
