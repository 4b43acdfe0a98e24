"""Order endpoints: thin views over orders.services (writes) and orders.selectors (reads)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from novacart.openapi import IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, ErrorResponseSerializer

from . import selectors, services
from .idempotency import idempotent_response, run_idempotent, validate_idempotency_key
from .models import OrderStatus
from .serializers import (
    AnalyticsSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderListQuerySerializer,
    OrderListSerializer,
    OrderStatusUpdateSerializer,
    SalesReportQuerySerializer,
    SalesReportSerializer,
)
from .transitions import Actor

CREATE_CONFLICT = OpenApiResponse(
    ErrorResponseSerializer,
    description="`out_of_stock` / `product_unavailable`: one error per cart line that cannot be ordered "
    "(attr `items.<product_id>`); `too_many_open_orders`: cash on delivery past `COD_MAX_OPEN_ORDERS` "
    "unpaid COD orders of this customer; `idempotency_request_in_progress`: the first request with this "
    "key is still running.",
)
KEY_REUSED = OpenApiResponse(
    ErrorResponseSerializer,
    description="`idempotency_key_reused`: this Idempotency-Key was used with a different body.",
)
INVALID_TRANSITION = OpenApiResponse(
    ErrorResponseSerializer,
    description="`invalid_transition`: the order's lifecycle does not allow this move from its current status.",
)


def _actor_for(user) -> Actor:
    return Actor.STAFF if user.is_staff else Actor.CUSTOMER


def _order_response(user, order_id: int, status_code=status.HTTP_200_OK) -> Response:
    order = selectors.order_get_for_user(user=user, order_id=order_id)
    return Response(OrderDetailSerializer(order).data, status=status_code)


@extend_validation_errors(["invalid_idempotency_key"], field_name="Idempotency-Key", methods=["post"])
@extend_validation_errors(["cart_empty"], field_name="non_field_errors", methods=["post"])
class OrderCreateView(APIView):
    """Places an order from the user's cart."""

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order from your cart",
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER],
        responses={201: OrderDetailSerializer, 409: CREATE_CONFLICT, 422: KEY_REUSED},
    )
    def post(self, request):
        key = validate_idempotency_key(request.headers.get("Idempotency-Key"))
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request.user

        def place() -> tuple[int, dict]:
            order = services.order_place_from_cart(
                user=user, address_id=data["shipping_address_id"], payment_method=data["payment_method"]
            )
            order = selectors.order_get_for_user(user=user, order_id=order.pk)
            return status.HTTP_201_CREATED, OrderDetailSerializer(order).data

        return idempotent_response(
            run_idempotent(user=user, scope="orders.create", key=key, payload=dict(data), call=place)
        )


class MyOrdersView(ListAPIView):
    """The user's own orders, newest first."""

    serializer_class = OrderListSerializer
    filter_backends: list = []

    def get_queryset(self):
        query = OrderListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.order_list_for_user(
            user=self.request.user,
            search=query.validated_data.get("search", ""),
            status=query.validated_data.get("status", ""),
        )

    @extend_schema(
        operation_id="orders_my_list",
        summary="Your orders",
        parameters=[OrderListQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderDetailView(APIView):
    """One order: its owner's or, for staff, anyone's."""

    @extend_schema(operation_id="orders_retrieve", summary="Order detail", responses={200: OrderDetailSerializer})
    def get(self, request, pk: int):
        return _order_response(request.user, pk)


class OrderCancelView(APIView):
    """Cancels a PENDING order and puts its stock back."""

    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel a pending order",
        request=None,
        responses={200: OrderDetailSerializer, 409: INVALID_TRANSITION},
    )
    def post(self, request, pk: int):
        selectors.order_check_access(user=request.user, order_id=pk)
        services.order_transition(
            order_id=pk,
            to_status=OrderStatus.CANCELLED,
            actor=_actor_for(request.user),
            user=request.user,
            note="Cancelled by staff." if request.user.is_staff else "Cancelled by the customer.",
        )
        return _order_response(request.user, pk)


class OrderStatusView(APIView):
    """Staff move an order along its lifecycle (ship with a tracking number, deliver, cancel)."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="orders_status_update",
        summary="Move an order along its lifecycle (staff)",
        request=OrderStatusUpdateSerializer,
        responses={200: OrderDetailSerializer, 409: INVALID_TRANSITION},
    )
    def patch(self, request, pk: int):
        serializer = OrderStatusUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        selectors.order_check_access(user=request.user, order_id=pk)
        services.order_transition(
            order_id=pk,
            to_status=serializer.validated_data["status"],
            actor=Actor.STAFF,
            user=request.user,
            tracking_number=serializer.validated_data.get("tracking_number", ""),
            note="Status set by staff.",
        )
        return _order_response(request.user, pk)


class SalesReportView(APIView):
    """Staff: revenue, order count and average order value per day."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="orders_sales_report",
        summary="Sales report per day (staff)",
        parameters=[SalesReportQuerySerializer],
        responses={200: SalesReportSerializer},
    )
    def get(self, request):
        query = SalesReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = selectors.order_sales_report(days=query.validated_data["days"])
        return Response(SalesReportSerializer(report).data)


class AnalyticsView(APIView):
    """Staff dashboard: revenue, orders by status, top products, low stock."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="analytics_retrieve", summary="Shop analytics (staff)", responses={200: AnalyticsSerializer}
    )
    def get(self, request):
        return Response(AnalyticsSerializer(selectors.order_analytics()).data)
