import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


def new_cart_token() -> str:
    return secrets.token_urlsafe(32)


class Cart(models.Model):
    """A user's cart (one per user) or an anonymous cart known by its unguessable token."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="cart"
    )
    token = models.CharField(max_length=64, unique=True, default=new_cart_token)
    # The voucher applied to the cart (one at most; orders.vouchers.cart_voucher_apply). Checked again
    # when the cart is priced and when it becomes an order.
    voucher = models.ForeignKey(
        "orders.Voucher", null=True, blank=True, on_delete=models.SET_NULL, related_name="carts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["updated_at"], name="cart_updated_idx")]

    def __str__(self):
        return f"Cart {self.pk} ({self.user or 'anonymous'})"

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="cart_items")
    # The form of the product the line holds; `product` is its product, kept beside it for the joins.
    variant = models.ForeignKey("products.ProductVariant", on_delete=models.CASCADE, related_name="cart_items")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "variant"],
                name="cart_item_unique_variant",
                violation_error_message="This variant is already in the cart; change the quantity of its line.",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="cart_item_quantity_positive",
                violation_error_message="Quantity must be at least 1.",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.variant_id}"
