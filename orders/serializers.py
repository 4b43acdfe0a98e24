from decimal import Decimal

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from addresses.countries import COUNTRY_CODES
from addresses.serializers import AddressSerializer
from novacart.fields import object_list
from products.models import Category, Product

from . import schema_examples
from .models import (
    Order,
    OrderItem,
    OrderPaymentStatus,
    OrderStatus,
    OrderStatusChange,
    PaymentMethod,
    Voucher,
    VoucherKind,
)
from .selectors import order_refunds_listed

# Ids are 64-bit in the database; a larger number is a validation error, not an overflow.
MAX_ID = 2**63 - 1
# A PositiveIntegerField holds up to this on every database we run on.
MAX_COUNT = 2**31 - 1


class OrderCreateSerializer(serializers.Serializer):
    """Signed in: `shipping_address_id`. A guest (no login, the cart's `X-Cart-Token`): `email` and
    `shipping_address` instead, and `payment_method` `card`."""

    # No upper bound: an id past 64 bits names no address of yours, a 404 `address_not_found`.
    shipping_address_id = serializers.IntegerField(
        required=False, min_value=1, help_text="One of your addresses; required when signed in."
    )
    email = serializers.EmailField(
        required=False,
        max_length=254,
        help_text="Guests (required): where the order's e-mails and its link go.",
    )
    shipping_address = AddressSerializer(
        required=False,
        help_text="Guests (required): the address to ship to, validated as the address book validates one "
        "(not saved). `is_default` is ignored.",
    )
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    shipping_method_id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="One of GET /api/shipping-methods/ for this address; required whenever the shop offers any.",
    )

    def validate(self, attrs):
        if self.context.get("guest"):
            missing = [name for name in ("email", "shipping_address") if not attrs.get(name)]
            if missing:
                raise serializers.ValidationError(
                    dict.fromkeys(missing, "Required for an order placed without an account."), code="required"
                )
        elif not attrs.get("shipping_address_id"):
            raise serializers.ValidationError({"shipping_address_id": "This field is required."}, code="required")
        return attrs


class OrderLookupSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=32, help_text='The order number, e.g. "NC-261204-7K2Q9X".')
    email = serializers.EmailField(max_length=254, help_text="The e-mail the order was placed with.")


class OrderStatusUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    tracking_number = serializers.CharField(
        required=False, allow_blank=True, max_length=Order._meta.get_field("tracking_number").max_length
    )


class OrderListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)
    status = serializers.ChoiceField(required=False, choices=OrderStatus.choices)


class SalesReportQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, default=30, min_value=1, max_value=365)


class OrderItemSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="product_name", help_text="The product's name when the order was placed.")
    sku = serializers.CharField(help_text="The variant's SKU when the order was placed.")
    variant_name = serializers.CharField(help_text='The option values, e.g. "M / Red"; empty for one form.')
    options = serializers.DictField(child=serializers.CharField(), help_text='e.g. {"Size": "M", "Colour": "Red"}')

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "product",
            "variant_id",
            "name",
            "sku",
            "variant_name",
            "options",
            "unit_price",
            "quantity",
            "discount",
            "tax",
            "line_total",
        ]


class OrderStatusChangeSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = OrderStatusChange
        fields = ["from_status", "to_status", "actor", "note", "created_at"]


class ShippingAddressSerializer(serializers.Serializer):
    """The address as it was when the order was placed."""

    full_name = serializers.CharField()
    phone = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField(allow_blank=True)
    city = serializers.CharField()
    state = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField()
    country = serializers.CharField()
    address_type = serializers.CharField()


ORDER_FIELDS = [
    "id",
    "number",
    "status",
    "payment_status",
    "payment_method",
    "items",
    "subtotal",
    "discount_total",
    "shipping_total",
    "tax_total",
    "total",
    "refunded_total",
    "currency",
    "prices_include_tax",
    "tax_lines",
    "shipping_method",
    "voucher_code",
    "shipping_address",
    "tracking_number",
    "created_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "refunded_at",
]


class TaxLineSerializer(serializers.Serializer):
    name = serializers.CharField(help_text='e.g. "VAT 20%"')
    rate = serializers.CharField(help_text='e.g. "0.2000"')
    amount = serializers.CharField(help_text='e.g. "3.40"')


class OrderShippingMethodSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null once the method was deleted.")
    name = serializers.CharField()


class RefundLineSerializer(serializers.Serializer):
    order_item_id = serializers.IntegerField(help_text="The order's item (`items[].id`).")
    quantity = serializers.IntegerField()


class OrderRefundSerializer(serializers.Serializer):
    """Money given back for the order (payments.Refund); failed attempts are not listed."""

    id = serializers.IntegerField()
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text='What went back (or is going back), e.g. "26.40".'
    )
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "succeeded"], help_text="pending until the provider confirms.")
    reason = serializers.CharField()
    lines = RefundLineSerializer(
        many=True, help_text="Empty for shipping alone, an amount on its own, or a refund made at the provider."
    )
    shipping = serializers.BooleanField(help_text="The shipping charge (with its tax) is part of it.")
    created_at = serializers.DateTimeField()


@extend_schema_serializer(examples=[schema_examples.ORDER])
class OrderListSerializer(serializers.ModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)
    payment_status = serializers.ChoiceField(
        choices=OrderPaymentStatus.values,
        read_only=True,
        help_text="unpaid, paid, partially_refunded (some money went back) or refunded (all of it).",
    )
    refunded_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, help_text='The succeeded refunds so far, e.g. "26.40".'
    )
    shipping_address = ShippingAddressSerializer(read_only=True)
    tax_lines = TaxLineSerializer(many=True, read_only=True)
    shipping_method = serializers.SerializerMethodField()

    @extend_schema_field(OrderShippingMethodSerializer(allow_null=True))
    def get_shipping_method(self, order) -> dict | None:
        if not order.shipping_method_name:
            return None
        return {"id": order.shipping_method_id, "name": order.shipping_method_name}

    class Meta:
        model = Order
        fields = ORDER_FIELDS
        read_only_fields = ORDER_FIELDS


@extend_schema_serializer(examples=[schema_examples.ORDER_DETAIL])
class OrderDetailSerializer(OrderListSerializer):
    status_history = OrderStatusChangeSerializer(many=True, read_only=True)
    refunds = serializers.SerializerMethodField()

    @extend_schema_field(OrderRefundSerializer(many=True))
    def get_refunds(self, order) -> list[dict]:
        return OrderRefundSerializer(order_refunds_listed(order=order), many=True).data

    class Meta(OrderListSerializer.Meta):
        fields = [*ORDER_FIELDS, "status_history", "refunds"]
        read_only_fields = fields


class OrderPlacedSerializer(OrderDetailSerializer):
    """The order just placed: what its detail shows and, for a guest's order only, its `order_token`."""

    absent_from_some_answers = ("order_token",)  # novacart.openapi: not in a signed-in customer's answer

    order_token = serializers.CharField(
        required=False,
        help_text="A guest's order only, and only here: the token that opens this one order (`X-Order-Token` "
        "on its detail, cancel and payment endpoints). Keep it: it is not shown again (an order lookup mails a "
        "new link).",
    )

    class Meta(OrderDetailSerializer.Meta):
        fields = [*OrderDetailSerializer.Meta.fields, "order_token"]
        read_only_fields = OrderDetailSerializer.Meta.fields


def _money(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, help_text=help_text)


class TakingsSerializer(serializers.Serializer):
    """What paid orders brought in (orders.selectors._takings), in the shop's currency."""

    gross = _money("What customers paid for these orders: their totals, tax and shipping included.")
    refunds = _money("What was refunded of those orders (a refunded order counts on the day it was paid).")
    revenue = _money("What the shop kept: `gross` less `refunds`.")
    tax = _money("The tax inside `revenue`: the orders' tax less the tax refunded (whether prices include tax).")
    shipping_total = _money("What the orders were charged for shipping, before refunds.")
    discounts = _money("What vouchers took off the orders, before refunds.")


class _SalesFiguresSerializer(TakingsSerializer):
    orders = serializers.IntegerField(help_text="Orders paid, refunded since or not.")
    average_order_value = _money("`gross` per order.")


class SalesReportDaySerializer(_SalesFiguresSerializer):
    date = serializers.DateField()


class SalesReportTotalsSerializer(_SalesFiguresSerializer):
    pass


@extend_schema_serializer(examples=[schema_examples.SALES_REPORT])
class SalesReportSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    currency = serializers.CharField()
    daily = SalesReportDaySerializer(many=True)
    totals = SalesReportTotalsSerializer()


class TopProductSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    name = serializers.CharField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units paid for and not refunded.")
    revenue = _money(
        "What those units brought in net of tax: the lines' totals after their discount, less their tax "
        "(on top or inside the price), less what was refunded; shipping not included."
    )


# One count per order status, whatever statuses the lifecycle has (orders.models.OrderStatus).
OrdersByStatusSerializer = type(
    "OrdersByStatusSerializer",
    (serializers.Serializer,),
    {status: serializers.IntegerField() for status in OrderStatus.values},
)


@extend_schema_serializer(examples=[schema_examples.ANALYTICS])
class AnalyticsSerializer(TakingsSerializer):
    """The figures of every paid order, refunded since or not, then the orders, best sellers and stock."""

    currency = serializers.CharField()
    orders_paid = serializers.IntegerField(help_text="Orders whose money came in, refunded since or not.")
    average_order_value = _money("`gross` per paid order.")
    orders_total = serializers.IntegerField()
    orders_by_status = OrdersByStatusSerializer()
    top_products_by_quantity = TopProductSerializer(many=True)
    top_products_by_revenue = TopProductSerializer(many=True)
    low_stock_threshold = serializers.IntegerField()
    low_stock_count = serializers.IntegerField()


# --- Shipping and checkout pricing ----------------------------------------------------------------


class ShippingMethodsQuerySerializer(serializers.Serializer):
    address_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="One of your addresses: its country."
    )
    country = serializers.CharField(
        required=False, min_length=2, max_length=2, help_text="An ISO 3166-1 alpha-2 code, e.g. GB."
    )

    def validate_country(self, value):
        value = value.upper()
        if value not in COUNTRY_CODES:
            raise serializers.ValidationError("Not an ISO 3166-1 alpha-2 country code.", code="invalid")
        return value

    def validate(self, attrs):
        if not attrs.get("address_id") and not attrs.get("country"):
            raise serializers.ValidationError(
                {"country": "Give country (or address_id, one of your addresses)."}, code="required"
            )
        return attrs


@extend_schema_serializer(examples=[schema_examples.SHIPPING_METHOD])
class ShippingMethodSerializer(serializers.Serializer):
    """A method this cart may use for the destination, priced for this cart."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What this cart pays for it (0 past its `free_over`)."
    )
    currency = serializers.CharField()
    delivery_days_min = serializers.IntegerField()
    delivery_days_max = serializers.IntegerField()
    cod_allowed = serializers.BooleanField(help_text="Cash on delivery may be chosen with it.")


class CheckoutPreviewSerializer(serializers.Serializer):
    """Where the cart would go: one of your addresses, or an address given inline (as the address book
    validates it), and optionally a shipping method."""

    shipping_address_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="One of your addresses."
    )
    shipping_address = AddressSerializer(
        required=False, allow_null=True, help_text="An address given inline (not saved); null: none."
    )
    shipping_method_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="One of GET /api/shipping-methods/."
    )

    def validate(self, attrs):
        if not attrs.get("shipping_address_id") and not attrs.get("shipping_address"):
            raise serializers.ValidationError(
                {"shipping_address_id": "Give shipping_address_id (or shipping_address)."}, code="required"
            )
        return attrs


class PricedLineSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(help_text="The cart line (`cart_id` of update/remove).")
    variant_id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    unit_price = serializers.CharField(help_text='The variant\'s current price, e.g. "19.99".')
    discount = serializers.CharField(help_text="The line's share of the voucher's discount.")
    tax = serializers.CharField(help_text="The tax on the line (inside it when prices include tax).")
    line_total = serializers.CharField(help_text="What the line costs after its discount, with its tax.")


@extend_schema_serializer(examples=[schema_examples.CHECKOUT_PREVIEW])
class CheckoutPreviewResponseSerializer(serializers.Serializer):
    """What the order would cost now; `POST /api/orders/create/` with the same address, method and
    cart charges exactly this."""

    lines = PricedLineSerializer(many=True)
    subtotal = serializers.CharField(help_text='e.g. "59.97"')
    discount_total = serializers.CharField(help_text='e.g. "6.00"')
    shipping_total = serializers.CharField(help_text='e.g. "3.95"')
    tax_total = serializers.CharField(help_text='e.g. "11.58"')
    total = serializers.CharField(help_text='e.g. "69.50"')
    currency = serializers.CharField(help_text='e.g. "usd"')
    prices_include_tax = serializers.BooleanField()
    shipping_method = OrderShippingMethodSerializer(allow_null=True)
    voucher = serializers.CharField(allow_null=True, help_text="The code of the cart's voucher, if any.")
    tax_lines = TaxLineSerializer(many=True)

    def to_representation(self, instance):
        """`instance` is an orders.pricing.PriceBreakdown."""
        data = instance.as_dict()
        data.pop("shipping_tax")
        data["lines"] = [
            {
                "item_id": line["key"],
                "variant_id": line["variant_id"],
                "quantity": line["quantity"],
                "unit_price": line["unit_price"],
                "discount": line["discount"],
                "tax": line["tax"],
                "line_total": line["line_total"],
            }
            for line in data["lines"]
        ]
        return data


# --- Vouchers -----------------------------------------------------------------------------------


class CartVoucherApplySerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=Voucher._meta.get_field("code").max_length,
        help_text="The voucher code, in any case (spaces around it are ignored).",
    )


@extend_schema_serializer(examples=[schema_examples.VOUCHER])
class VoucherSerializer(serializers.ModelSerializer):
    """A voucher as staff see it. `used_count` is how many orders hold a use of it now (a cancelled
    order gives its use back)."""

    categories = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    products = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Voucher
        fields = [
            "id",
            "code",
            "kind",
            "value",
            "min_subtotal",
            "starts_at",
            "ends_at",
            "usage_limit",
            "per_customer_limit",
            "used_count",
            "categories",
            "products",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_field({"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 1000})
class _IdsField(serializers.ListField):
    """A list of ids of `model`. Every problem is reported on the list itself (`invalid` for something
    that is not an id, `does_not_exist` naming the ids of nothing), never as `categories.3`."""

    def __init__(self, *, model, **kwargs):
        self.model = model
        super().__init__(child=serializers.JSONField(allow_null=True), max_length=1000, **kwargs)

    def to_internal_value(self, data):
        ids = []
        for value in super().to_internal_value(data):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
                raise serializers.ValidationError(
                    f"{value!r} is not an id: ids are whole numbers from 1.", code="invalid"
                )
            ids.append(value)
        ids = list(dict.fromkeys(ids))
        found = set(self.model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(
                f"No {self.model._meta.verbose_name} with id {', '.join(map(str, missing))}.", code="does_not_exist"
            )
        return ids


@extend_schema_serializer(examples=schema_examples.VOUCHER_WRITE)
class VoucherWriteSerializer(serializers.Serializer):
    """What staff send. The rules across fields (a percentage at most 100, an end after the start, a
    usage limit not under the uses so far) are orders.vouchers'."""

    code = serializers.CharField(
        max_length=Voucher._meta.get_field("code").max_length,
        help_text="3 to 64 letters, digits, `-` or `_`; stored upper-case and unique whatever the case.",
    )
    kind = serializers.ChoiceField(choices=VoucherKind.choices)
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text="Percent: 10 for 10% (more than 0, at most 100); fixed: the amount off (more than 0); "
        "free shipping: 0 (the default).",
    )
    min_subtotal = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text="The cart's subtotal before discounts must be at least this; null: no minimum.",
    )
    starts_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    ends_at = serializers.DateTimeField(required=False, allow_null=True, help_text="null: no end.")
    usage_limit = serializers.IntegerField(
        min_value=1, max_value=MAX_COUNT, required=False, allow_null=True, help_text="Uses in all; null: unlimited."
    )
    per_customer_limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_COUNT,
        required=False,
        allow_null=True,
        help_text="Uses per customer (account, or e-mail for guests); null: unlimited.",
    )
    categories = _IdsField(
        model=Category,
        required=False,
        help_text="Category ids (their sub-categories included). With no categories and no products the "
        "voucher applies to the whole cart.",
    )
    products = _IdsField(model=Product, required=False, help_text="Product ids.")
    is_active = serializers.BooleanField(required=False, help_text="Default: true.")


class VoucherListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Part of the code, in any case."
    )


# --- Returns ------------------------------------------------------------------------------------


class ReturnLineRequestSerializer(serializers.Serializer):
    order_item_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="An item of the order.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_COUNT, help_text="Units of it to send back.")


class ReturnRequestSerializer(serializers.Serializer):
    lines = object_list(ReturnLineRequestSerializer, allow_empty=False, max_length=1000)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReturnLineSerializer(serializers.Serializer):
    order_item_id = serializers.IntegerField()
    name = serializers.CharField(source="order_item.product_name", help_text="The product, as ordered.")
    variant_name = serializers.CharField(source="order_item.variant_name")
    quantity = serializers.IntegerField()
    restock = serializers.BooleanField(help_text="Staff's word on receipt: the units go back on sale.")


class ReturnStatusChangeSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField(source="actor_label", help_text="customer, staff or system (never a name).")
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReturnSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    status = serializers.ChoiceField(choices=["REQUESTED", "APPROVED", "REJECTED", "RECEIVED", "REFUNDED"])
    reason = serializers.CharField()
    lines = ReturnLineSerializer(many=True)
    refund_id = serializers.IntegerField(allow_null=True, help_text="The refund made for it (`refunds[].id`).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    status_history = ReturnStatusChangeSerializer(many=True)


class ReturnStatusLineSerializer(serializers.Serializer):
    order_item_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    restock = serializers.BooleanField()


class ReturnStatusUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["APPROVED", "REJECTED", "RECEIVED"])
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    lines = object_list(
        ReturnStatusLineSerializer,
        required=False,
        max_length=1000,
        help_text="With RECEIVED: whether each line's units can be sold again (default: yes).",
    )


class ReturnListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["REQUESTED", "APPROVED", "REJECTED", "RECEIVED", "REFUNDED"], required=False
    )
