from rest_framework import serializers


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


class RefundSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    order_status = serializers.CharField(help_text="REFUNDED once the provider confirmed the refund.")
    payment_status = serializers.CharField(help_text="REFUND_PENDING until the provider confirms, then REFUNDED.")
    refund_id = serializers.CharField()
    refund_status = serializers.CharField(help_text="The provider's: pending, succeeded, ...")


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
