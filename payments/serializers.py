from decimal import Decimal

from rest_framework import serializers

from novacart.fields import object_list


class OrderIdSerializer(serializers.Serializer):
    order_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class PaymentIntentSerializer(serializers.Serializer):
    client_secret = serializers.CharField(help_text="Give it to Stripe.js (`stripe.confirmPayment`).")
    payment_intent_id = serializers.CharField()
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text='The order total as a decimal string in the order\'s currency (e.g. `"19.99"`), '
        "not Stripe's minor units.",
    )
    currency = serializers.CharField(help_text="ISO 4217, lower case.")
    publishable_key = serializers.CharField(
        allow_blank=True, help_text="Stripe publishable key; empty with the development gateway."
    )


class CheckoutSessionCreateSerializer(OrderIdSerializer):
    success_url = serializers.CharField(
        max_length=2000,
        help_text="Where Stripe sends the customer after paying; must be on one of the shop's front-end "
        "origins. Stripe replaces `{CHECKOUT_SESSION_ID}` in it.",
    )
    cancel_url = serializers.CharField(max_length=2000, help_text="Same origin rule as success_url.")


class CheckoutSessionSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    url = serializers.CharField(help_text="The hosted payment page: redirect the customer there.")


class VerifyQuerySerializer(serializers.Serializer):
    session_id = serializers.CharField(max_length=255)


class VerifySerializer(serializers.Serializer):
    session_id = serializers.CharField()
    session_status = serializers.CharField(help_text="Stripe's: open, complete or expired.")
    payment_status = serializers.CharField(help_text="Stripe's: paid, unpaid or no_payment_required.")
    order_id = serializers.IntegerField()
    order_number = serializers.CharField()
    order_status = serializers.CharField()


class RefundLineRequestSerializer(serializers.Serializer):
    order_item_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="An item of the order.")
    quantity = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="Units of it to refund.")


class RefundRequestSerializer(OrderIdSerializer):
    """What to refund. Only `order_id`: whatever is not refunded yet (restocking only if the order has
    not shipped). Amounts are worked out from the order's own prices, discounts and taxes."""

    lines = object_list(
        RefundLineRequestSerializer,
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="Units of the order's items to refund.",
    )
    shipping = serializers.BooleanField(required=False, help_text="Refund the shipping charge (and its tax).")
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text='A goodwill amount refunded on its own (no lines, no shipping), e.g. "5.00".',
    )
    restock = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Put the lines' units back on stock once the money went back (default: true with lines).",
    )
    reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="Why (shown to the customer's order)."
    )


class RefundSerializer(serializers.Serializer):
    refund_id = serializers.IntegerField(help_text="The refund (`refunds[].id` of the order).")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text='What goes back, e.g. "24.20".')
    currency = serializers.CharField(help_text="ISO 4217, lower case.")
    status = serializers.ChoiceField(
        choices=["pending", "succeeded", "failed"],
        help_text="pending until the provider confirms (its webhook completes it), then succeeded.",
    )
    provider_refund_id = serializers.CharField(help_text="The provider's id for it (empty until it answered).")
    order_id = serializers.IntegerField()
    order_status = serializers.CharField(help_text="REFUNDED once everything the order was paid went back.")
    payment_status = serializers.ChoiceField(
        choices=["unpaid", "paid", "partially_refunded", "refunded"], help_text="The order's payment status."
    )
    refunded_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="All the order's succeeded refunds so far."
    )


class WebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    duplicate = serializers.BooleanField()
    outcome = serializers.CharField()


class DummyConfirmSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    order_status = serializers.CharField()
    event_id = serializers.CharField()
    outcome = serializers.CharField()


class StripeInitiateSerializer(PaymentIntentSerializer):
    gateway = serializers.ChoiceField(choices=["stripe"])


class RazorpayInitiateSerializer(serializers.Serializer):
    gateway = serializers.ChoiceField(choices=["razorpay"])
    razorpay_order_id = serializers.CharField(help_text="Open Razorpay Checkout with it (`order_id`).")
    amount = serializers.IntegerField(
        help_text="The order total in the currency's minor unit (paise for INR), as Razorpay Checkout takes it."
    )
    currency = serializers.CharField(help_text="ISO 4217, lower case.")
    key_id = serializers.CharField(help_text="The Razorpay key id Checkout is opened with (`key`).")


class DummyInitiateSerializer(serializers.Serializer):
    gateway = serializers.ChoiceField(
        choices=["dummy"], help_text="The development gateway: confirm with POST /api/payments/dummy/confirm/."
    )


class RazorpayVerifySerializer(serializers.Serializer):
    """What Razorpay Checkout's `handler` receives after a payment, passed on unchanged."""

    razorpay_order_id = serializers.CharField(max_length=255)
    razorpay_payment_id = serializers.CharField(max_length=255)
    razorpay_signature = serializers.CharField(max_length=255)
