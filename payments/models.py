from decimal import Decimal

from django.conf import settings
from django.db import models

from .provider_types import from_minor_units


class PaymentStatus(models.TextChoices):
    REQUIRES_PAYMENT = "REQUIRES_PAYMENT", "Requires payment"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    REFUND_PENDING = "REFUND_PENDING", "Refund pending"
    REFUNDED = "REFUNDED", "Refunded"


# Groups of payment statuses, each named once.
# Money is held: taken and not (yet) given back.
PAYMENT_CAPTURED_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING)
# Money was taken at some point (since given back, for REFUNDED): a success event changes nothing.
PAYMENT_TAKEN_STATUSES = (*PAYMENT_CAPTURED_STATUSES, PaymentStatus.REFUNDED)
# No money yet: the customer may still pay through this payment (a declined card can try again).
PAYMENT_OPEN_STATUSES = (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED)


class Payment(models.Model):
    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        RAZORPAY = "razorpay", "Razorpay"
        DUMMY = "dummy", "Development gateway"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_payment_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    provider_checkout_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    provider_refund_id = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.REQUIRES_PAYMENT)
    # Set when the provider reported something we refuse to act on (e.g. amount or currency mismatch).
    needs_review = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("refund_payment", "Can refund payments")]
        indexes = [models.Index(fields=["order", "status"], name="payment_order_status_idx")]

    def __str__(self):
        return f"{self.provider} {self.provider_payment_id or self.pk} ({self.status})"


class WebhookEvent(models.Model):
    """Every provider event we received, once: the unique id makes duplicates no-ops."""

    provider = models.CharField(max_length=16, default="stripe")
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # asked of the provider (or about to be), not confirmed yet
    SUCCEEDED = "succeeded", "Succeeded"  # the money went back
    FAILED = "failed", "Failed"  # the provider refused it or reported it failed: nothing went back


# A refund that holds (or will hold) money: counted against what may still be refunded.
REFUND_ACTIVE_STATUSES = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


class Refund(models.Model):
    """Money given back for an order, through the provider of the payment that took it.

    Made by staff (by lines, shipping, an amount, or whatever is left: payments.refunds.refund_create)
    or found at the provider (a refund made in its dashboard: `source` PROVIDER, no lines). Amounts
    come from the order's own snapshots, never from the client; `amount_minor` is what the provider is
    asked for, in the currency's minor unit. Written only by payments.refunds.
    """

    class Source(models.TextChoices):
        SHOP = "shop", "Made in the shop"
        PROVIDER = "provider", "Made at the provider"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SHOP)
    reason = models.CharField(max_length=255, blank=True)
    shipping = models.BooleanField(default=False, help_text="The shipping charge (with its tax) is refunded.")
    shipping_minor = models.BigIntegerField(default=0)
    goodwill_minor = models.BigIntegerField(default=0, help_text="An amount given back beyond lines and shipping.")
    # Gives back the order's own money (counted in Order.refunded_total); false for a payment the order
    # could not take (a late or a second payment), given back whole.
    of_sale = models.BooleanField(default=True)
    provider_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "status"], name="refund_order_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_minor__gte=0)
                & models.Q(shipping_minor__gte=0)
                & models.Q(goodwill_minor__gte=0),
                name="refund_amounts_non_negative",
            ),
        ]

    def __str__(self):
        return f"refund {self.pk} of order {self.order_id} ({self.status})"

    @property
    def amount(self) -> Decimal:
        """`amount_minor` in the currency's units (Decimal("26.40") for 2640 usd)."""
        return from_minor_units(self.amount_minor, self.currency)


class RefundLine(models.Model):
    """Units of one order item in a refund, what they returned, and whether they went back on the shelf."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_item = models.ForeignKey("orders.OrderItem", on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount_minor = models.BigIntegerField()
    restock = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["refund", "order_item"], name="refund_line_one_per_item"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1) & models.Q(amount_minor__gte=0), name="refund_line_positive"
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x item {self.order_item_id}"
