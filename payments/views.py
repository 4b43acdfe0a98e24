"""Payment endpoints: thin views over payments.services, payments.refunds and payments.webhooks."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from novacart.openapi import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    ErrorResponseSerializer,
    staff_forbidden,
)
from novacart.permissions import Perm, StaffPermission
from orders.idempotency import idempotent_response, run_idempotent, validate_idempotency_key

from . import refunds, services, webhooks
from .serializers import (
    CheckoutSessionCreateSerializer,
    CheckoutSessionSerializer,
    DummyConfirmSerializer,
    OrderIdSerializer,
    PaymentIntentSerializer,
    RefundSerializer,
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
PROVIDER_FAILED = _error("`payment_provider_error`: Stripe failed or timed out; nothing was recorded, retry.")
NOT_CONFIGURED = _error(
    "`payment_not_configured`: no payment gateway on this server; `payment_provider_error`: Stripe rate-limited us."
)


class PaymentIntentView(APIView):
    """Creates (or returns the existing) Stripe payment intent for the caller's pending card order."""

    @extend_schema(
        operation_id="payments_payment_intent",
        summary="Create the Stripe payment intent of an order",
        request=OrderIdSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER],
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
        user = request.user

        def create() -> tuple[int, dict]:
            answer = services.payment_intent_create(user=user, order_id=order_id)
            return 200, PaymentIntentSerializer(answer.as_body()).data

        return idempotent_response(
            run_idempotent(user=user, scope="payments.intent", key=key, payload=serializer.validated_data, call=create)
        )


class CheckoutSessionView(APIView):
    """Creates a Stripe Checkout session for the caller's pending card order."""

    @extend_schema(
        operation_id="payments_checkout_session",
        summary="Start a Stripe Checkout session for an order",
        request=CheckoutSessionCreateSerializer,
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
        body = services.payment_checkout_session_create(user=request.user, **serializer.validated_data)
        return Response(CheckoutSessionSerializer(body).data)


class VerifyView(APIView):
    """Fallback when the webhook is late: asks Stripe about the session and applies the same
    transition the `checkout.session.completed` webhook would."""

    @extend_schema(
        operation_id="payments_verify",
        summary="Check a Checkout session (when the webhook is late)",
        parameters=[VerifyQuerySerializer],
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
        body = services.payment_checkout_verify(user=request.user, session_id=serializer.validated_data["session_id"])
        return Response(VerifySerializer(body).data)


class RefundView(APIView):
    """Staff with the refund permission: refunds an order's payment in full through Stripe."""

    permission_classes = [StaffPermission.require(Perm.REFUND_PAYMENT)]

    @extend_schema(
        operation_id="payments_refund",
        summary="Refund an order in full (staff)",
        request=OrderIdSerializer,
        responses={
            200: RefundSerializer,
            400: BAD_REQUEST,
            403: staff_forbidden(Perm.REFUND_PAYMENT),
            404: ORDER_NOT_FOUND,
            409: _error("`payment_not_refundable`: the order has no succeeded payment (or was refunded)."),
            502: _error("`payment_provider_error`, `refund_failed`."),
            503: NOT_CONFIGURED,
        },
    )
    def post(self, request):
        serializer = OrderIdSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = refunds.payment_refund(order_id=serializer.validated_data["order_id"], user=request.user)
        return Response(RefundSerializer(answer.as_body()).data)


class WebhookView(APIView):
    """Stripe's webhook: verified by the Stripe-Signature header, each event processed once.
    No authentication, no CSRF, no throttling."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="payments_webhook",
        summary="Stripe webhook",
        request=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        responses={
            200: WebhookAckSerializer,
            400: _error("`invalid_signature` (missing, wrong or stale Stripe-Signature) or `invalid_payload`."),
            500: _error("`webhook_processing_failed`: nothing was kept; Stripe retries the event."),
            503: _error("`payment_not_configured`: no gateway or STRIPE_WEBHOOK_SECRET."),
        },
        auth=[],
    )
    def post(self, request):
        # The signature covers the raw bytes: read them before anything parses the body.
        result = webhooks.webhook_receive(payload=request.body, headers=request.headers)
        return Response({"received": True, "duplicate": result.duplicate, "outcome": result.outcome})


class DummyConfirmView(APIView):
    """Development gateway only (PAYMENT_GATEWAY=dummy): confirms the caller's payment through the
    same code path as a Stripe success webhook. 404 when that gateway is off."""

    @extend_schema(
        operation_id="payments_dummy_confirm",
        summary="Confirm a payment (development gateway)",
        request=OrderIdSerializer,
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
        body = webhooks.dummy_payment_confirm(user=request.user, order_id=serializer.validated_data["order_id"])
        return Response(DummyConfirmSerializer(body).data)
