"""Payment endpoints: thin views over payments.services, payments.refunds and payments.webhooks."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from novacart.fields import ITEM_INPUT_ERROR_CODES
from novacart.openapi import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    ORDER_TOKEN_HEADER,
    ErrorResponseSerializer,
    staff_forbidden,
)
from novacart.permissions import Perm, StaffPermission
from orders.idempotency import idempotency_caller, idempotent_response, run_idempotent, validate_idempotency_key
from orders.permissions import CustomerOrGuestOrder
from orders.selectors import order_get_for_user
from orders.serializers import OrderDetailSerializer
from orders.tokens import ORDER_TOKEN

from . import refunds, services, webhooks
from .error_codes import PaymentErrorCode
from .serializers import (
    CheckoutSessionCreateSerializer,
    CheckoutSessionSerializer,
    DummyConfirmSerializer,
    DummyInitiateSerializer,
    OrderIdSerializer,
    PaymentIntentSerializer,
    RazorpayInitiateSerializer,
    RazorpayVerifySerializer,
    RefundRequestSerializer,
    RefundSerializer,
    StripeInitiateSerializer,
    VerifyQuerySerializer,
    VerifySerializer,
    WebhookAckSerializer,
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorResponseSerializer, description=description)


BAD_REQUEST = _error(
    "`invalid_redirect_url`, `invalid_idempotency_key`, or a field that is missing or malformed (attr names it)."
)
ORDER_NOT_FOUND = _error("`not_found`: no such order, or not yours.")
NOT_PAYABLE = _error(
    "`payment_not_allowed` (cash on delivery), `invalid_transition` (the order is not PENDING), "
    "`already_paid`, `idempotency_request_in_progress`."
)
PROVIDER_FAILED = _error(
    "`payment_provider_error`: the payment provider failed or timed out; nothing was recorded, retry."
)
NOT_CONFIGURED = _error(
    "`payment_not_configured`: no payment gateway on this server; `payment_provider_error`: the provider "
    "rate-limited us."
)


class PaymentIntentView(APIView):
    """Creates (or returns the existing) Stripe payment intent for the caller's pending card order."""

    permission_classes = [CustomerOrGuestOrder]

    @extend_schema(
        operation_id="payments_payment_intent",
        summary="Create the Stripe payment intent of an order",
        request=OrderIdSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, ORDER_TOKEN_HEADER],
        responses={
            200: PaymentIntentSerializer,
            400: BAD_REQUEST,
            404: ORDER_NOT_FOUND,
            409: NOT_PAYABLE,
            422: _error("`idempotency_key_reused`: this Idempotency-Key was used with a different body."),
            502: PROVIDER_FAILED,
            503: NOT_CONFIGURED,
        },
    )
    def post(self, request):
        key = validate_idempotency_key(request.headers.get("Idempotency-Key"))
        serializer = OrderIdSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_id = serializer.validated_data["order_id"]
        user, guest = idempotency_caller(request)
        order_token = request.headers.get(ORDER_TOKEN)

        def create() -> tuple[int, dict]:
            answer = services.payment_intent_create(user=user, order_id=order_id, order_token=order_token)
            return 200, PaymentIntentSerializer(answer.as_body()).data

        return idempotent_response(
            run_idempotent(
                user=user,
                guest=guest,
                scope="payments.intent",
                key=key,
                payload=serializer.validated_data,
                call=create,
            )
        )


INITIATE_RESPONSE = PolymorphicProxySerializer(
    component_name="PaymentInitiate",
    serializers={
        "stripe": StripeInitiateSerializer,
        "razorpay": RazorpayInitiateSerializer,
        "dummy": DummyInitiateSerializer,
    },
    resource_type_field_name="gateway",
)


class PaymentInitiateView(APIView):
    """Starts paying the caller's pending card order with whichever gateway the server runs."""

    permission_classes = [CustomerOrGuestOrder]

    @extend_schema(
        operation_id="payments_initiate",
        summary="Start paying an order with the configured gateway",
        description="One call for every gateway: Stripe answers with the payment-intent fields, Razorpay with "
        "the Razorpay order to open Razorpay Checkout with (amount in paise), the development gateway with "
        "nothing to do but confirm. Calling again for the same order returns the same provider object, also "
        "after a lost answer; the `Idempotency-Key` header replays the first response.",
        request=OrderIdSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, ORDER_TOKEN_HEADER],
        responses={
            200: INITIATE_RESPONSE,
            400: BAD_REQUEST,
            404: ORDER_NOT_FOUND,
            409: NOT_PAYABLE,
            422: _error("`idempotency_key_reused`: this Idempotency-Key was used with a different body."),
            502: PROVIDER_FAILED,
            503: NOT_CONFIGURED,
        },
        examples=[
            OpenApiExample("Request", value={"order_id": 42}, request_only=True),
            OpenApiExample(
                "Razorpay",
                value={
                    "gateway": "razorpay",
                    "razorpay_order_id": "order_Q1w2E3r4T5y6U7",
                    "amount": 249900,
                    "currency": "inr",
                    "key_id": "rzp_live_AbCdEf123456",
                },
                response_only=True,
            ),
            OpenApiExample(
                "Stripe",
                value={
                    "gateway": "stripe",
                    "client_secret": "pi_3PqR5s_secret_Xy9",
                    "payment_intent_id": "pi_3PqR5s",
                    "amount": "19.99",
                    "currency": "usd",
                    "publishable_key": "pk_live_51Hx",
                },
                response_only=True,
            ),
            OpenApiExample("Development gateway", value={"gateway": "dummy"}, response_only=True),
        ],
    )
    def post(self, request):
        key = validate_idempotency_key(request.headers.get("Idempotency-Key"))
        serializer = OrderIdSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_id = serializer.validated_data["order_id"]
        # The owner's order, or the one a guest's X-Order-Token opens.
        user, guest = idempotency_caller(request)
        order_token = request.headers.get(ORDER_TOKEN)

        def initiate() -> tuple[int, dict]:
            answer = services.payment_initiate(user=user, order_id=order_id, order_token=order_token)
            return 200, answer.as_initiate_body()

        return idempotent_response(
            run_idempotent(
                user=user,
                guest=guest,
                scope="payments.initiate",
                key=key,
                payload=serializer.validated_data,
                call=initiate,
            )
        )


class CheckoutSessionView(APIView):
    """Creates a Stripe Checkout session for the caller's pending card order."""

    permission_classes = [CustomerOrGuestOrder]

    @extend_schema(
        operation_id="payments_checkout_session",
        summary="Start a Stripe Checkout session for an order",
        request=CheckoutSessionCreateSerializer,
        parameters=[ORDER_TOKEN_HEADER],
        responses={
            200: CheckoutSessionSerializer,
            400: BAD_REQUEST,
            404: ORDER_NOT_FOUND,
            409: NOT_PAYABLE,
            502: PROVIDER_FAILED,
            503: NOT_CONFIGURED,
        },
    )
    def post(self, request):
        serializer = CheckoutSessionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = services.payment_checkout_session_create(
            user=request.user, order_token=request.headers.get(ORDER_TOKEN), **serializer.validated_data
        )
        return Response(CheckoutSessionSerializer(body).data)


class VerifyView(APIView):
    """GET: the Stripe Checkout fallback when the webhook is late (asks Stripe about the session and
    applies what `checkout.session.completed` would). POST: Razorpay Checkout's signed answer."""

    permission_classes = [CustomerOrGuestOrder]

    @extend_schema(
        operation_id="payments_verify_signed_checkout",
        summary="Confirm a Razorpay Checkout payment",
        description="Razorpay (seed 004): pass on what Razorpay Checkout's handler received. The signature "
        "must be HMAC-SHA256(key secret, `razorpay_order_id|razorpay_payment_id`); the payment is then "
        "fetched from Razorpay and the order is paid only when it is captured for exactly the order's "
        "amount and currency (an authorised payment is captured for that amount). A mismatch leaves the "
        "order unpaid and the payment flagged for review. Idempotent with the webhook: repeating it, or the "
        "webhook arriving first, changes nothing more. Answers with the order.",
        request=RazorpayVerifySerializer,
        parameters=[ORDER_TOKEN_HEADER],
        responses={
            200: OrderDetailSerializer,
            400: _error("`invalid_signature`: the signature does not match; or a field is missing (attr names it)."),
            404: _error("`not_found`: no such Razorpay order or payment of yours, or the gateway is not Razorpay."),
            409: _error("`payment_mismatch`: the payment belongs to another Razorpay order."),
            502: PROVIDER_FAILED,
            503: NOT_CONFIGURED,
        },
        examples=[
            OpenApiExample(
                "Razorpay Checkout's answer",
                value={
                    "razorpay_order_id": "order_Q1w2E3r4T5y6U7",
                    "razorpay_payment_id": "pay_Q1w9ZxCvBn8M7L",
                    "razorpay_signature": "3f1c9a7e0d5b2f84c6e1a9d07b3c5e2f8a4d6b0c9e7f1a3d5b8c2e4f6a0d9b7c",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        serializer = RazorpayVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = services.payment_checkout_signed_verify(
            user=request.user,
            provider_order_id=data["razorpay_order_id"],
            charge_id=data["razorpay_payment_id"],
            signature=data["razorpay_signature"],
            order_token=request.headers.get(ORDER_TOKEN),
        )
        order = order_get_for_user(user=request.user, order_id=order.pk, order_token=request.headers.get(ORDER_TOKEN))
        return Response(OrderDetailSerializer(order).data)

    @extend_schema(
        operation_id="payments_verify",
        summary="Check a Stripe Checkout session (when the webhook is late)",
        parameters=[VerifyQuerySerializer, ORDER_TOKEN_HEADER],
        responses={
            200: VerifySerializer,
            400: _error("`required` / `blank`: the session_id query parameter is missing."),
            404: _error("`not_found`: no such checkout session, or not yours."),
            502: PROVIDER_FAILED,
            503: NOT_CONFIGURED,
        },
    )
    def get(self, request):
        serializer = VerifyQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        body = services.payment_checkout_verify(
            user=request.user,
            session_id=serializer.validated_data["session_id"],
            order_token=request.headers.get(ORDER_TOKEN),
        )
        return Response(VerifySerializer(body).data)


@extend_validation_errors(
    [PaymentErrorCode.INVALID_REFUND_LINE, *ITEM_INPUT_ERROR_CODES], field_name="lines", methods=["post"]
)
@extend_validation_errors([PaymentErrorCode.INVALID_REFUND_LINE], field_name="amount", methods=["post"])
@extend_validation_errors([PaymentErrorCode.REFUND_EXCEEDS_PAID], field_name="shipping", methods=["post"])
class RefundView(APIView):
    """Staff with the refund permission: refunds lines, shipping, an amount, or whatever is left of an
    order through the provider that took its payment. With an `Idempotency-Key`, a retry (a lost
    answer, a double click) returns the first answer instead of refunding again."""

    permission_classes = [StaffPermission.require(Perm.REFUND_PAYMENT)]

    @extend_schema(
        operation_id="payments_refund",
        summary="Refund an order, in full or in part (staff)",
        request=RefundRequestSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER],
        responses={
            200: RefundSerializer,
            400: _error(
                "`invalid_refund_line`: an item not of the order, more units than the line has, "
                "an amount with lines, or lines of an order that was not a sale; field validation errors."
            ),
            403: staff_forbidden(Perm.REFUND_PAYMENT),
            404: ORDER_NOT_FOUND,
            409: _error(
                "`payment_not_refundable`: the order has no succeeded payment (or was refunded); "
                "`refund_exceeds_paid`: more than what is not refunded (or being refunded) yet; "
                "`idempotency_request_in_progress`: the first request with this key is still running."
            ),
            422: _error("`idempotency_key_reused`: this Idempotency-Key was used with a different body."),
            502: _error(
                "`payment_provider_error` (the answer was lost: the same request again is safe), "
                "`refund_failed` (the provider refused it; nothing went back)."
            ),
            503: NOT_CONFIGURED,
        },
        examples=[
            OpenApiExample(
                "Two units of a line and the shipping",
                value={"order_id": 42, "lines": [{"order_item_id": 101, "quantity": 2}], "shipping": True},
                request_only=True,
            ),
            OpenApiExample(
                "A goodwill amount",
                value={"order_id": 42, "amount": "5.00", "reason": "Late delivery"},
                request_only=True,
            ),
            OpenApiExample("Whatever is left", value={"order_id": 42}, request_only=True),
            OpenApiExample(
                "Refunded",
                value={
                    "refund_id": 7,
                    "amount": "26.40",
                    "currency": "usd",
                    "status": "succeeded",
                    "provider_refund_id": "re_3P1x2y",
                    "order_id": 42,
                    "order_status": "DELIVERED",
                    "payment_status": "partially_refunded",
                    "refunded_total": "26.40",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        key = validate_idempotency_key(request.headers.get("Idempotency-Key"))
        serializer = RefundRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request.user

        def refund() -> tuple[int, dict]:
            answer = refunds.refund_create(
                order_id=data["order_id"],
                user=user,
                lines=[
                    refunds.RefundLineRequest(line["order_item_id"], line["quantity"]) for line in data.get("lines", ())
                ],
                shipping=data.get("shipping", False),
                amount=data.get("amount"),
                restock=data.get("restock"),
                reason=data.get("reason", ""),
            )
            return 200, RefundSerializer(answer.as_body()).data

        return idempotent_response(
            run_idempotent(user=user, scope="payments.refund", key=key, payload=data, call=refund)
        )


class WebhookView(APIView):
    """Provider webhooks (Stripe's and Razorpay's, told apart by their signature header), each event
    processed once. No authentication, no CSRF, no throttling."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="payments_webhook",
        summary="Stripe webhook",
        request=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, description="Stripe's events carry it."),
            OpenApiParameter(
                "X-Razorpay-Signature",
                str,
                OpenApiParameter.HEADER,
                description="Razorpay's events: HMAC-SHA256(RAZORPAY_WEBHOOK_SECRET, raw body), hex.",
            ),
            OpenApiParameter(
                "X-Razorpay-Event-Id",
                str,
                OpenApiParameter.HEADER,
                description="Razorpay's event id, with X-Razorpay-Signature: each id is processed once.",
            ),
        ],
        responses={
            200: WebhookAckSerializer,
            400: _error("`invalid_signature` (missing, wrong or stale signature) or `invalid_payload`."),
            500: _error("`webhook_processing_failed`: nothing was kept; the provider retries the event."),
            503: _error("`payment_not_configured`: no gateway, or no webhook secret for that provider."),
        },
        examples=[
            OpenApiExample(
                "Razorpay payment.captured",
                request_only=True,
                value={
                    "entity": "event",
                    "account_id": "acc_BFQ7uQEaa7j2z7",
                    "event": "payment.captured",
                    "contains": ["payment"],
                    "payload": {
                        "payment": {
                            "entity": {
                                "id": "pay_Q1w9ZxCvBn8M7L",
                                "entity": "payment",
                                "amount": 249900,
                                "currency": "INR",
                                "status": "captured",
                                "order_id": "order_Q1w2E3r4T5y6U7",
                                "captured": True,
                                "method": "upi",
                                "amount_refunded": 0,
                                "notes": {"order_id": "42", "order_number": "NC-2026-000042"},
                            }
                        }
                    },
                    "created_at": 1764650000,
                },
            ),
            OpenApiExample(
                "Answer",
                response_only=True,
                value={"received": True, "duplicate": False, "outcome": "order_paid"},
            ),
        ],
        auth=[],
    )
    def post(self, request):
        # The signature covers the raw bytes: read them before anything parses the body.
        result = webhooks.webhook_receive(payload=request.body, headers=request.headers)
        return Response({"received": True, "duplicate": result.duplicate, "outcome": result.outcome})


class DummyConfirmView(APIView):
    """Development gateway only (PAYMENT_GATEWAY=dummy): confirms the caller's payment through the
    same code path as a Stripe success webhook. 404 when that gateway is off."""

    permission_classes = [CustomerOrGuestOrder]

    @extend_schema(
        operation_id="payments_dummy_confirm",
        summary="Confirm a payment (development gateway)",
        request=OrderIdSerializer,
        parameters=[ORDER_TOKEN_HEADER],
        responses={
            200: DummyConfirmSerializer,
            400: BAD_REQUEST,
            404: _error("`not_found`: the development gateway is off, or no such order of yours."),
            409: NOT_PAYABLE,
        },
    )
    def post(self, request):
        webhooks.dummy_gateway_require()
        serializer = OrderIdSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = webhooks.dummy_payment_confirm(
            user=request.user,
            order_id=serializer.validated_data["order_id"],
            order_token=request.headers.get(ORDER_TOKEN),
        )
        return Response(DummyConfirmSerializer(body).data)
