from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PAID = "PAID", "Paid"
    PROCESSING = "PROCESSING", "Processing"
    SHIPPED = "SHIPPED", "Shipped"
    DELIVERED = "DELIVERED", "Delivered"
    CANCELLED = "CANCELLED", "Cancelled"
    REFUNDED = "REFUNDED", "Refunded"


# Groups of order statuses, each named once.
# The sale stands: a card order was paid, or a cash-on-delivery order was confirmed by staff, is on
# its way or was handed over. A full refund starts from here, and a review by the buyer of such an
# order is a verified purchase.
ORDER_SALE_STATUSES = (OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
# A cash-on-delivery order whose money has not come in yet: unconfirmed, confirmed or on its way.
# A customer may hold at most COD_MAX_OPEN_ORDERS of them, so COD cannot hoard stock.
ORDER_COD_OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.SHIPPED)


def order_revenue_q(prefix: str = "") -> Q:
    """Revenue, defined once: a standing sale whose money came in. `paid_at` is set when a card order
    is paid and when a cash-on-delivery order is delivered, so a COD parcel on its way is not revenue
    yet. `prefix` reaches the order through a relation (`"order__"` from an order item)."""
    return Q(**{f"{prefix}status__in": ORDER_SALE_STATUSES, f"{prefix}paid_at__isnull": False})


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    COD = "cod", "Cash on delivery"


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    payment_method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    # A copy of the address at checkout: later edits or deletion of the address change nothing.
    shipping_address = models.JSONField()
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    tracking_number = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("view_sales_report", "Can view the sales report and analytics")]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_created_idx"),
            models.Index(fields=["status", "created_at"], name="order_status_created_idx"),
            models.Index(fields=["paid_at"], name="order_paid_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0) & Q(subtotal__gte=0), name="order_amounts_non_negative"),
        ]

    def __str__(self):
        return self.number


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, related_name="order_items")
    variant = models.ForeignKey("products.ProductVariant", on_delete=models.PROTECT, related_name="order_items")
    # Snapshots at checkout: later edits of the product or variant change nothing here.
    product_name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64)
    variant_name = models.CharField(max_length=200, blank=True)
    options = models.JSONField(default=dict, blank=True)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_item_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product_name}"


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An orders.transitions.Actor value ("customer", "staff" or "system"): who moved the order, also
    # when no user did.
    actor_label = models.CharField(max_length=32, default="system")
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status}"


class IdempotencyKey(models.Model):
    """One client request made safe to retry (IETF Idempotency-Key draft), scoped per user."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_key_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self):
        return f"{self.scope}:{self.key} ({self.state})"
