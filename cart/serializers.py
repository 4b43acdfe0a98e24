"""Cart shapes. Inputs validate fields; the stock and availability rules live in services.py."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from products.models import Product
from products.serializers import image_file_url

# Ids are 64-bit in the database; a larger number is a validation error, not an overflow.
MAX_ID = 2**63 - 1


class QuantityField(serializers.IntegerField):
    """A line's quantity: at most settings.CART_MAX_QUANTITY, a 400 `max_value` past it. The bound is
    read whenever the field is built (each serializer instance builds its own fields), so the check and
    the schema's `maximum` follow the setting."""

    def __init__(self, **kwargs):
        super().__init__(max_value=settings.CART_MAX_QUANTITY, **kwargs)


class CartAddSerializer(serializers.Serializer):
    variant_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="The variant to add (from the product detail)."
    )
    product_id = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="The product to add, for a product sold in one form; with several variants a 400 "
        "`variant_required`. With `variant_id`, it must be that variant's product.",
    )
    quantity = QuantityField(min_value=1, default=1, help_text="Units to add (default 1).")

    def validate(self, attrs):
        if attrs.get("variant_id") is None and attrs.get("product_id") is None:
            # Reported on product_id, as before variants, so that clients that know none see no change.
            raise serializers.ValidationError(
                {"product_id": "This field is required (or give variant_id)."}, code="required"
            )
        return attrs


class CartUpdateSerializer(serializers.Serializer):
    quantity = QuantityField(min_value=0, help_text="The line's new quantity; 0 removes the line.")


class CartProductSerializer(serializers.ModelSerializer):
    """The product as the cart shows it: current price and stock, first image (`cart_image`, the file
    name and external URL `cart.selectors.cart_summarize` attaches)."""

    in_stock = serializers.BooleanField(read_only=True)
    image = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "name", "slug", "sku", "price", "stock", "in_stock", "image", "is_active"]
        read_only_fields = fields

    def get_image(self, product) -> str | None:
        # The first image with a file or a URL, read with the line (cart.selectors): no query per line.
        name, external_url = product.cart_image
        return image_file_url(name, external_url, self.context.get("request")) if name or external_url else None


class CartVariantSerializer(serializers.Serializer):
    """The variant a line holds: which form of the product."""

    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField(help_text='The option values, e.g. "M / Red"; empty for a product in one form.')
    options = serializers.DictField(child=serializers.CharField(), help_text='e.g. {"Size": "M", "Colour": "Red"}')


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item.id", help_text="The cart item's id (`cart_id` in update/remove).")
    product = CartProductSerializer(source="item.product")
    variant = CartVariantSerializer(source="item.variant")
    quantity = serializers.IntegerField(source="item.quantity")
    unit_price = serializers.DecimalField(max_digits=None, decimal_places=2, help_text="The variant's current price.")
    line_total = serializers.DecimalField(max_digits=None, decimal_places=2)


class CartVoucherProblemSerializer(serializers.Serializer):
    """Why the cart's voucher takes nothing off now: the refusal the checkout preview and the order
    would answer with if the cart went to checkout as it is."""

    code = serializers.CharField(
        help_text="`voucher_expired`, `voucher_exhausted` (its uses, or this customer's, are used up), "
        "`voucher_min_subtotal` (add more to the cart), `voucher_not_applicable` (nothing in the cart is "
        "eligible) or `voucher_invalid` (deactivated)."
    )
    detail = serializers.CharField(help_text="A sentence for the shopper.")


class CartVoucherSerializer(serializers.Serializer):
    """The voucher applied to the cart (`POST /api/cart/voucher/`). It is checked again whenever the
    cart is shown or priced (the checkout preview, the order), against the cart as it is then."""

    code = serializers.CharField(help_text="The code, upper-case.")
    kind = serializers.CharField(help_text="`percent`, `fixed` or `free_shipping`.")
    value = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        help_text="Percent: 10.00 for 10%; fixed: the amount off; free shipping: 0.00.",
    )
    problem = CartVoucherProblemSerializer(
        allow_null=True,
        help_text="null while the voucher applies. Otherwise why it takes nothing off now (`discount_total` "
        "is 0.00): the voucher stays on the cart, and the checkout refuses it with this code until the cart "
        "qualifies again or the voucher is removed.",
    )


_LINE_EXAMPLE = {
    "id": 41,
    "product": {
        "id": 7,
        "name": "Linen shirt",
        "slug": "linen-shirt",
        "sku": "LINEN-SHIRT",
        "price": "39.90",
        "stock": 12,
        "in_stock": True,
        "image": "https://shop.example.com/media/products/linen-shirt.jpg",
        "is_active": True,
    },
    "variant": {"id": 18, "sku": "LINEN-SHIRT-M", "name": "M / White", "options": {"Size": "M", "Colour": "White"}},
    "quantity": 2,
    "unit_price": "39.90",
    "line_total": "79.80",
}
_CART_EXAMPLE = {
    "id": 12,
    "cart_token": None,
    "items": [_LINE_EXAMPLE],
    "total_items": 2,
    "subtotal": "79.80",
    "currency": "usd",
}


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "WithVoucher",
            summary="A 10% voucher that applies",
            value={
                **_CART_EXAMPLE,
                "discount_total": "7.98",
                "voucher": {"code": "SPRING10", "kind": "percent", "value": "10.00", "problem": None},
            },
            response_only=True,
        ),
        OpenApiExample(
            "VoucherBelowMinimum",
            summary="A voucher that no longer applies",
            value={
                **_CART_EXAMPLE,
                "discount_total": "0.00",
                "voucher": {
                    "code": "BIGBASKET",
                    "kind": "fixed",
                    "value": "15.00",
                    "problem": {
                        "code": "voucher_min_subtotal",
                        "detail": "This voucher needs a subtotal of at least 100.00 USD; your cart's is 79.80.",
                    },
                },
            },
            response_only=True,
        ),
    ]
)
class CartSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null until the client has a cart.")
    cart_token = serializers.CharField(
        allow_null=True,
        help_text="An anonymous cart's token: send it back as the X-Cart-Token header. null for a "
        "logged-in user's cart (the login identifies it) and before an anonymous client has a cart.",
    )
    items = CartLineSerializer(many=True, source="lines")
    total_items = serializers.IntegerField(help_text="The sum of the lines' quantities.")
    subtotal = serializers.DecimalField(max_digits=None, decimal_places=2, help_text="Before the voucher.")
    discount_total = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        help_text="What the voucher takes off the subtotal now, as the checkout preview and the order would "
        "price it (the same function; before shipping and tax). 0.00 without a voucher, with a free-shipping "
        "one (shipping is free at the preview), and while `voucher.problem` says it does not apply.",
    )
    currency = serializers.CharField()
    voucher = CartVoucherSerializer(
        allow_null=True,
        help_text="The voucher applied to the cart, with `problem` when it no longer applies; null without one.",
    )
