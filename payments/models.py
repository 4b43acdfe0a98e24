from django.db import models


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
