from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone


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
# Money may have come in for it: a standing sale, or one refunded since (a refund starts from a sale).
# `paid_at` says whether it did (orders.models.order_revenue_q).
ORDER_PAID_STATUSES = (*ORDER_SALE_STATUSES, OrderStatus.REFUNDED)
# A cash-on-delivery order whose money has not come in yet: unconfirmed, confirmed or on its way.
# A customer may hold at most COD_MAX_OPEN_ORDERS of them, so COD cannot hoard stock.
ORDER_COD_OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.SHIPPED)


def order_revenue_q(prefix: str = "") -> Q:
    """Revenue's orders, defined once: those whose money came in, refunded since or not. `paid_at` is
    set when a card order is paid and when a cash-on-delivery order is delivered, so a COD parcel on
    its way is not revenue yet. What an order brings in is its total less what was refunded of it
    (orders.selectors.order_refunded_amount), so a refunded order stays on the day it was paid with
    its refund subtracted. `prefix` reaches the order through a relation (`"order__"` from an item)."""
    return Q(**{f"{prefix}status__in": ORDER_PAID_STATUSES, f"{prefix}paid_at__isnull": False})


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    COD = "cod", "Cash on delivery"


class OrderPaymentStatus(models.TextChoices):
    """Where the order's money stands, as the customer sees it (`Order.payment_status`)."""

    UNPAID = "unpaid", "Unpaid"
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    # The account; None for a guest's order until an account with its e-mail is verified
    # (orders.services.orders_attach_guest_orders).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    # The address the order was placed with: the account's then, or the one the guest gave. A guest
    # order's e-mails go here; an account's to the account's current address.
    email = models.EmailField(max_length=254, blank=True)
    # A guest's access to the order (orders.tokens): the SHA-256 of the token handed out, and the
    # nonce it is made from with SECRET_KEY, so e-mails can carry it without the token being stored.
    # Empty for orders placed with an account.
    guest_token_hash = models.CharField(max_length=64, blank=True)
    guest_token_nonce = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    payment_method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    # A copy of the address at checkout: later edits or deletion of the address change nothing.
    shipping_address = models.JSONField()
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    # The pricing breakdown at checkout (orders.pricing), kept as it was.
    discount_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    prices_include_tax = models.BooleanField(default=False)
    tax_lines = models.JSONField(default=list, blank=True)
    shipping_method = models.ForeignKey(
        "ShippingMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    shipping_method_name = models.CharField(max_length=100, blank=True)
    voucher_code = models.CharField(max_length=64, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    # What went back to the customer: the sum of the order's succeeded refunds (payments.Refund),
    # kept by payments.refunds under the order's lock.
    refunded_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
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
            models.Index(fields=["guest_token_hash"], name="order_guest_token_idx", condition=~Q(guest_token_hash="")),
            # The guest orders an account's verified e-mail takes over.
            models.Index(Upper("email"), name="order_guest_email_idx", condition=Q(user__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0) & Q(subtotal__gte=0), name="order_amounts_non_negative"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("total")),
                name="order_refunded_within_total",
            ),
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(email=""), name="order_has_customer"),
        ]

    def __str__(self):
        return self.number

    @property
    def customer_email(self) -> str:
        """Where the order's e-mails go: the account's current address, or the guest's."""
        return self.user.email if self.user_id is not None else self.email

    @property
    def is_guest_order(self) -> bool:
        """Placed without an account (it has a guest token), whether or not an account took it over since."""
        return bool(self.guest_token_hash)

    @property
    def payment_status(self) -> str:
        """`unpaid`, `paid`, `partially_refunded` or `refunded` (OrderPaymentStatus): refunded once
        everything paid went back (or the order was moved to REFUNDED), partially while some did."""
        if self.status == OrderStatus.REFUNDED or (self.refunded_total and self.refunded_total >= self.total):
            return OrderPaymentStatus.REFUNDED
        if self.refunded_total:
            return OrderPaymentStatus.PARTIALLY_REFUNDED
        return OrderPaymentStatus.PAID if self.paid_at is not None else OrderPaymentStatus.UNPAID


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
    # The line's share of the order's discount and its tax (orders.pricing): what a refund returns.
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=0)
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
    """One client request made safe to retry (IETF Idempotency-Key draft), scoped per user, or for a
    guest per `guest` (a digest of the cart token or order token the guest sent: orders.idempotency)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    guest = models.CharField(max_length=64, blank=True)
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
            models.UniqueConstraint(
                fields=["guest", "scope", "key"], name="idempotency_guest_key_unique", condition=Q(user__isnull=True)
            ),
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(guest=""), name="idempotency_key_has_owner"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self):
        return f"{self.scope}:{self.key} ({self.state})"


# --- Shipping and tax: what checkout prices with (orders.pricing), kept by staff in the admin -----


class ShippingZone(models.Model):
    """Where a set of shipping methods delivers: a list of countries."""

    name = models.CharField(max_length=100)
    countries = models.JSONField(default=list, help_text='ISO 3166-1 alpha-2 codes, e.g. ["GB", "IE"].')
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name", "id"]

    def __str__(self):
        return self.name


class ShippingMethod(models.Model):
    """A way to ship to a zone at a flat price, free over an optional subtotal, for carts within its
    subtotal and weight bounds."""

    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="methods")
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    free_over = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Free when the cart's subtotal (before discounts) is at least this.",
    )
    min_subtotal = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    max_subtotal = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    min_weight_grams = models.PositiveIntegerField(null=True, blank=True)
    max_weight_grams = models.PositiveIntegerField(null=True, blank=True)
    delivery_days_min = models.PositiveSmallIntegerField(default=2)
    delivery_days_max = models.PositiveSmallIntegerField(default=5)
    cod_allowed = models.BooleanField(default=False, help_text="Cash on delivery may be chosen with it.")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "price", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="shipping_method_price_non_negative",
                violation_error_message="A shipping price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(delivery_days_max__gte=models.F("delivery_days_min")),
                name="shipping_method_delivery_days_ordered",
                violation_error_message="The latest delivery day cannot come before the earliest.",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.zone})"


class TaxRate(models.Model):
    """The tax rate of one tax class in one country (or a region of it, which then wins)."""

    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. DE")
    region = models.CharField(max_length=100, blank=True, help_text="A state or province; empty: the whole country.")
    tax_class = models.CharField(max_length=32, default="standard")
    name = models.CharField(max_length=100, help_text='Shown to customers, e.g. "VAT 19%".')
    rate = models.DecimalField(max_digits=6, decimal_places=4, help_text="0.19 for 19%.")

    class Meta:
        ordering = ["country", "region", "tax_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "region", "tax_class"],
                name="tax_rate_unique_destination_class",
                violation_error_message="This country (and region) already has a rate for this tax class.",
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=1),
                name="tax_rate_between_0_and_1",
                violation_error_message="A tax rate is between 0 and 1 (0.19 for 19%).",
            ),
        ]

    def __str__(self):
        where = f"{self.country}-{self.region}" if self.region else self.country
        return f"{self.name} ({where}, {self.tax_class})"


# --- Vouchers: codes a customer applies to a cart (orders.vouchers), kept by staff ------------------


class VoucherKind(models.TextChoices):
    PERCENT = "percent", "Percentage off"
    FIXED = "fixed", "Fixed amount off"
    FREE_SHIPPING = "free_shipping", "Free shipping"


class Voucher(models.Model):
    """A discount code. Codes are stored trimmed and upper-cased and matched that way, so `summer10`
    and ` SUMMER10 ` are one code. With neither `categories` nor `products` it applies to the whole
    cart, otherwise to the lines of those products and of products in those categories (and their
    sub-categories). `used_count` moves only through orders.vouchers (`voucher_use_take`,
    `voucher_release`), with a conditional update; the constraints below are the last defence."""

    code = models.CharField(
        max_length=64,
        unique=True,
        help_text="What customers type; stored upper-case, matched whatever the case.",
        error_messages={"unique": "A voucher with this code already exists."},
    )
    kind = models.CharField(max_length=16, choices=VoucherKind.choices)
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text="Percent: 10 for 10% (at most 100). Fixed: the amount off in the shop's currency. Free shipping: 0.",
    )
    min_subtotal = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The cart's subtotal (before discounts) must be at least this; empty: no minimum.",
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: no end.")
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Uses in all; empty: unlimited.")
    per_customer_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Uses per customer (account or e-mail); empty: unlimited."
    )
    used_count = models.PositiveIntegerField(default=0)
    categories = models.ManyToManyField("products.Category", blank=True, related_name="vouchers")
    products = models.ManyToManyField("products.Product", blank=True, related_name="vouchers")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code=Upper("code")),
                name="voucher_code_upper_case",
                violation_error_message="A voucher code is stored in upper case.",
            ),
            models.CheckConstraint(
                condition=Q(used_count__gte=0) & (Q(usage_limit__isnull=True) | Q(used_count__lte=F("usage_limit"))),
                name="voucher_used_within_limit",
                violation_error_message="A voucher cannot be used more often than its usage limit.",
            ),
            models.CheckConstraint(
                condition=(Q(kind=VoucherKind.PERCENT) & Q(value__gt=0) & Q(value__lte=100))
                | (Q(kind=VoucherKind.FIXED) & Q(value__gt=0))
                | (Q(kind=VoucherKind.FREE_SHIPPING) & Q(value=0)),
                name="voucher_value_fits_kind",
                violation_error_message="A percentage is more than 0 and at most 100, a fixed amount more "
                "than 0, and free shipping has the value 0.",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="voucher_ends_after_start",
                violation_error_message="A voucher must end after it starts.",
            ),
            models.CheckConstraint(
                condition=(Q(usage_limit__isnull=True) | Q(usage_limit__gte=1))
                & (Q(per_customer_limit__isnull=True) | Q(per_customer_limit__gte=1))
                & (Q(min_subtotal__isnull=True) | Q(min_subtotal__gte=0)),
                name="voucher_limits_positive",
                violation_error_message="Usage limits are at least 1 (empty: unlimited) and a minimum "
                "subtotal is not negative.",
            ),
        ]

    def __str__(self):
        return self.code


class VoucherRedemption(models.Model):
    """One use of a voucher by one order: what the per-customer limit counts and what cancelling the
    order gives back (orders.vouchers.voucher_release deletes it)."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="voucher_redemption")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Lower-cased: guests are counted by the e-mail they check out with, whatever its case.
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["voucher", "user"], name="voucher_redemption_user_idx"),
            models.Index(fields=["voucher", "email"], name="voucher_redemption_email_idx"),
        ]

    def __str__(self):
        return f"{self.voucher_id} by order {self.order_id}"


# --- Returns -------------------------------------------------------------------------------------


class ReturnStatus(models.TextChoices):
    REQUESTED = "REQUESTED", "Requested"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    RECEIVED = "RECEIVED", "Received"
    REFUNDED = "REFUNDED", "Refunded"


# Returns staff still have to act on: the admin's queue.
RETURN_OPEN_STATUSES = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED)
# Returns that hold their units: a line's units in them cannot be asked back again (a rejected return gives them up).
RETURN_ACTIVE_STATUSES = (*RETURN_OPEN_STATUSES, ReturnStatus.REFUNDED)


class OrderReturn(models.Model):
    """A customer sending delivered units back. Written only by orders.returns (one transition
    function, `return_transition`); refunded through payments.refunds, whose refund it keeps."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    reason = models.TextField(blank=True)
    refund = models.OneToOneField(
        "payments.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="order_return"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"], name="return_status_created_idx")]

    def __str__(self):
        return f"return {self.pk} of order {self.order_id} ({self.status})"


class OrderReturnLine(models.Model):
    order_return = models.ForeignKey(OrderReturn, on_delete=models.CASCADE, related_name="lines")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    # Staff decide on receipt whether the units can be sold again (damaged goods are not).
    restock = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order_return", "order_item"], name="return_line_one_per_item"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_line_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} x item {self.order_item_id}"


class OrderReturnStatusChange(models.Model):
    order_return = models.ForeignKey(OrderReturn, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=16, choices=ReturnStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ReturnStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=32, default="system")  # an orders.transitions.Actor value
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"return {self.order_return_id}: {self.from_status or '∅'} → {self.to_status}"
