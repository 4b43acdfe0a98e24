from rest_framework import serializers

from .models import Order, OrderItem, OrderStatus, OrderStatusChange, PaymentMethod


class OrderCreateSerializer(serializers.Serializer):
    shipping_address_id = serializers.IntegerField(min_value=1)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)


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
    "payment_method",
    "items",
    "subtotal",
    "total",
    "currency",
    "shipping_address",
    "tracking_number",
    "created_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "refunded_at",
]


class OrderListSerializer(serializers.ModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)
    shipping_address = ShippingAddressSerializer(read_only=True)

    class Meta:
        model = Order
        fields = ORDER_FIELDS
        read_only_fields = ORDER_FIELDS


class OrderDetailSerializer(OrderListSerializer):
    status_history = OrderStatusChangeSerializer(many=True, read_only=True)

    class Meta(OrderListSerializer.Meta):
        fields = [*ORDER_FIELDS, "status_history"]
        read_only_fields = fields


class SalesReportDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    orders = serializers.IntegerField()
    average_order_value = serializers.DecimalField(max_digits=14, decimal_places=2)


class SalesReportTotalsSerializer(serializers.Serializer):
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    orders = serializers.IntegerField()
    average_order_value = serializers.DecimalField(max_digits=14, decimal_places=2)


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
    quantity = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)


# One count per order status, whatever statuses the lifecycle has (orders.models.OrderStatus).
OrdersByStatusSerializer = type(
    "OrdersByStatusSerializer",
    (serializers.Serializer,),
    {status: serializers.IntegerField() for status in OrderStatus.values},
)


class AnalyticsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    orders_total = serializers.IntegerField()
    orders_by_status = OrdersByStatusSerializer()
    top_products_by_quantity = TopProductSerializer(many=True)
    top_products_by_revenue = TopProductSerializer(many=True)
    low_stock_threshold = serializers.IntegerField()
    low_stock_count = serializers.IntegerField()
