"""Cart writes. (Filled in by the cart issue; the merge is needed by login and registration.)"""

from django.conf import settings
from django.db import transaction

from .models import Cart, CartItem


def cart_merge_anonymous(*, user, cart_token: str) -> None:
    """Moves an anonymous cart's lines into the user's cart: quantities add up, capped at the
    product's stock; inactive products are dropped; the anonymous cart is deleted.
    An unknown token, or a token of a cart that belongs to a user, is ignored."""
    with transaction.atomic():
        anonymous = Cart.objects.select_for_update().filter(token=cart_token, user__isnull=True).first()
        if anonymous is None:
            return
        cart, _ = Cart.objects.get_or_create(user=user)
        existing = {item.product_id: item for item in cart.items.select_for_update()}
        for item in anonymous.items.select_related("product"):
            product = item.product
            if not product.is_active or product.stock <= 0:
                continue
            line = existing.get(product.pk)
            wanted = item.quantity + (line.quantity if line else 0)
            quantity = min(wanted, product.stock, settings.CART_MAX_QUANTITY)
            if line:
                line.quantity = quantity
                line.save(update_fields=["quantity", "updated_at"])
            else:
                CartItem.objects.create(cart=cart, product=product, quantity=quantity)
        anonymous.delete()
