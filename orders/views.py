"""Order endpoints: thin views over orders.services (writes) and orders.selectors (reads)."""

from dataclasses import replace

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from addresses.error_codes import AddressErrorCode
from addresses.selectors import address_get_for_user
from cart import selectors as cart_selectors
from cart.selectors import cart_get_with_lines
from cart.serializers import CartSerializer
from cart.views import CART_TOKEN_HEADER, render_cart
from novacart.error_codes import CoreErrorCode
from novacart.exceptions import NotFound, ValidationFailed
from novacart.fields import ITEM_INPUT_ERROR_CODES
from novacart.openapi import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    ORDER_TOKEN_HEADER,
    ErrorResponseSerializer,
    staff_forbidden,
)
from novacart.pagination import StandardPagination
from novacart.permissions import Perm, StaffPermission, user_has
from novacart.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle
from payments.refunds import refund_for_return
from users.throttles import AddressAndEmailThrottle

from . import returns, schema_examples, selectors, services, vouchers
from .error_codes import OrderErrorCode
from .idempotency import idempotency_caller, idempotent_response, run_idempotent, validate_idempotency_key
from .models import OrderStatus
from .permissions import CustomerOrGuestCart, CustomerOrGuestOrder
from .pricing import lines_subtotal, lines_weight_grams, shipping_price
from .selectors import pricing_lines
from .serializers import (
    AnalyticsSerializer,
    CartVoucherApplySerializer,
    CheckoutPreviewResponseSerializer,
    CheckoutPreviewSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderListQuerySerializer,
    OrderListSerializer,
    OrderLookupSerializer,
    OrderPlacedSerializer,
    OrderStatusUpdateSerializer,
    ReturnListQuerySerializer,
    ReturnRequestSerializer,
    ReturnSerializer,
    ReturnStatusUpdateSerializer,
    SalesReportQuerySerializer,
    SalesReportSerializer,
    ShippingMethodSerializer,
    ShippingMethodsQuerySerializer,
    VoucherListQuerySerializer,
    VoucherSerializer,
    VoucherWriteSerializer,
)
from .tokens import ORDER_TOKEN
from .transitions import Actor

LOOKUP_DETAIL = "If an order placed without an account has this number and e-mail, its link is on its way there."
LOOKUP_ACCEPTED = OpenApiResponse(
    inline_serializer("OrderLookupAccepted", {"detail": drf_serializers.CharField()}),
    description="Always, whether or not an order matched.",
    examples=[OpenApiExample("Accepted", value={"detail": LOOKUP_DETAIL})],
)
CREATE_CONFLICT = OpenApiResponse(
    ErrorResponseSerializer,
    description="`out_of_stock` / `product_unavailable`: one error per cart line that cannot be ordered "
    "(attr `items.<product_id>`); `too_many_open_orders`: cash on delivery past `COD_MAX_OPEN_ORDERS` "
    "unpaid COD orders of this customer; `idempotency_request_in_progress`: the first request with this "
    "key is still running.",
)
COD_EMAIL_NOT_VERIFIED = OpenApiResponse(
    ErrorResponseSerializer,
    description="`email_not_verified`: cash on delivery needs a verified e-mail address "
    "(`POST /api/auth/verify-email/`); paying by card does not.",
)
KEY_REUSED = OpenApiResponse(
    ErrorResponseSerializer,
    description="`idempotency_key_reused`: this Idempotency-Key was used with a different body.",
)
INVALID_TRANSITION = OpenApiResponse(
    ErrorResponseSerializer,
    description="`invalid_transition`: the order's lifecycle does not allow this move from its current status.",
)


def _order_token(request) -> str | None:
    return request.headers.get(ORDER_TOKEN)


def _order_response(request, order_id: int, status_code=status.HTTP_200_OK) -> Response:
    order = selectors.order_get_for_user(user=request.user, order_id=order_id, order_token=_order_token(request))
    return Response(OrderDetailSerializer(order).data, status=status_code)


# The cart voucher's refusals at checkout (orders.vouchers.voucher_check), reported on `code`.
CHECKOUT_VOUCHER_ERRORS = [
    OrderErrorCode.VOUCHER_INVALID,
    OrderErrorCode.VOUCHER_EXPIRED,
    OrderErrorCode.VOUCHER_NOT_APPLICABLE,
    OrderErrorCode.VOUCHER_MIN_SUBTOTAL,
]


def _inline_address_errors(view):
    """The address book's own codes, for an address given inline as `shipping_address`."""
    view = extend_validation_errors(
        [AddressErrorCode.INVALID_PHONE, CoreErrorCode.CONTROL_CHARACTERS],
        field_name="shipping_address.phone",
        methods=["post"],
    )(view)
    view = extend_validation_errors(
        [AddressErrorCode.INVALID_POSTAL_CODE, CoreErrorCode.CONTROL_CHARACTERS],
        field_name="shipping_address.postal_code",
        methods=["post"],
    )(view)
    view = extend_validation_errors(
        [AddressErrorCode.INVALID_COUNTRY], field_name="shipping_address.country", methods=["post"]
    )(view)
    view = extend_validation_errors(["invalid"], field_name="shipping_address", methods=["post"])(view)
    for field in ("full_name", "line1", "line2", "city", "state"):
        view = extend_validation_errors(
            [CoreErrorCode.CONTROL_CHARACTERS], field_name=f"shipping_address.{field}", methods=["post"]
        )(view)
    return view


@extend_validation_errors(["invalid_idempotency_key"], field_name="Idempotency-Key", methods=["post"])
@extend_validation_errors(["cart_empty"], field_name="non_field_errors", methods=["post"])
@extend_validation_errors(["required"], field_name="shipping_address_id", methods=["post"])
@extend_validation_errors(["required"], field_name="email", methods=["post"])
@extend_validation_errors(["required"], field_name="shipping_address", methods=["post"])
@_inline_address_errors
@extend_validation_errors(
    [OrderErrorCode.SHIPPING_METHOD_REQUIRED, OrderErrorCode.SHIPPING_METHOD_UNAVAILABLE],
    field_name="shipping_method_id",
    methods=["post"],
)
@extend_validation_errors([OrderErrorCode.COD_NOT_ALLOWED], field_name="payment_method", methods=["post"])
@extend_validation_errors(CHECKOUT_VOUCHER_ERRORS, field_name="code", methods=["post"])
class OrderCreateView(APIView):
    """Places an order from the user's cart, or (guest checkout) from an anonymous cart."""

    permission_classes = [CustomerOrGuestCart]

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order from your cart",
        description="Signed in: from your cart, to `shipping_address_id`. Without a login (unless "
        "`GUEST_CHECKOUT=0`): from the anonymous cart of `X-Cart-Token`, with `email` and an inline "
        "`shipping_address`, paid by card; the answer then carries the order's `order_token`, shown only "
        "here (and again in a replay with the same `Idempotency-Key`, scoped by the cart token).",
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, CART_TOKEN_HEADER],
        responses={
            201: OrderPlacedSerializer,
            403: COD_EMAIL_NOT_VERIFIED,
            409: CREATE_CONFLICT,
            422: KEY_REUSED,
        },
        examples=[
            schema_examples.SIGNED_IN_ORDER_REQUEST,
            schema_examples.GUEST_ORDER_REQUEST,
            schema_examples.ORDER_PLACED,
            schema_examples.GUEST_ORDER_PLACED,
        ],
    )
    def post(self, request):
        key = validate_idempotency_key(request.headers.get("Idempotency-Key"))
        guest = not request.user.is_authenticated
        serializer = OrderCreateSerializer(data=request.data, context={"guest": guest})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user, guest_caller = idempotency_caller(request)
        handed_out: dict[str, str] = {}

        def place() -> tuple[int, dict]:
            if guest:
                order, handed_out["token"] = services.order_place_as_guest(
                    cart_token=request.headers.get("X-Cart-Token"),
                    email=data["email"],
                    address=data["shipping_address"],
                    payment_method=data["payment_method"],
                    shipping_method_id=data.get("shipping_method_id"),
                )
            else:
                order = services.order_place_from_cart(
                    user=user,
                    address_id=data["shipping_address_id"],
                    payment_method=data["payment_method"],
                    shipping_method_id=data.get("shipping_method_id"),
                )  # with its items and first status change: what GET /api/orders/<id>/ shows, unread
            return status.HTTP_201_CREATED, OrderDetailSerializer(order).data

        stored = run_idempotent(
            user=user, guest=guest_caller, scope="orders.create", key=key, payload=dict(data), call=place
        )
        if guest and stored.status == status.HTTP_201_CREATED:
            # Never stored with the response: made again from the order's nonce for a replay.
            token = handed_out.get("token") or selectors.order_guest_token(order_id=stored.body["id"])
            stored = replace(stored, body={**stored.body, "order_token": token})
        return idempotent_response(stored)


class OrderLookupThrottle(AddressAndEmailThrottle):
    """Order lookups per client address (`THROTTLE_ORDER_LOOKUP_RATE`) and per e-mail asked about
    (`THROTTLE_ORDER_LOOKUP_EMAIL_RATE`): each may mail a link, and guessing order numbers must stay
    slow. Fails closed."""

    address_scope = "order_lookup"
    email_scope = "order_lookup_email"


class OrderLookupView(APIView):
    """A guest asks for their order's link again."""

    permission_classes = [CustomerOrGuestOrder]
    throttle_classes = [OrderLookupThrottle]

    @extend_schema(
        operation_id="orders_lookup",
        summary="Mail a guest order's link again",
        description="When an order placed without an account has this number and e-mail, a link with a new "
        "order token is mailed to that e-mail (earlier links stop working). The answer is the same whether "
        "or not one matched, so it tells nobody which orders exist.",
        request=OrderLookupSerializer,
        responses={202: LOOKUP_ACCEPTED},
        examples=[
            OpenApiExample(
                "Request", value={"number": "NC-261204-7K2Q9X", "email": "ada@example.com"}, request_only=True
            )
        ],
    )
    def post(self, request):
        serializer = OrderLookupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_guest_link_send(**serializer.validated_data)
        return Response({"detail": LOOKUP_DETAIL}, status=status.HTTP_202_ACCEPTED)


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
    """One order: its owner's (or the guest's of `X-Order-Token`) or, for staff who may see orders, anyone's."""

    permission_classes = [CustomerOrGuestOrder]

    @extend_schema(
        operation_id="orders_retrieve",
        summary="Order detail",
        parameters=[ORDER_TOKEN_HEADER],
        responses={200: OrderDetailSerializer},
    )
    def get(self, request, pk: int):
        return _order_response(request, pk)


class OrderCancelView(APIView):
    """Cancels a PENDING order and puts its stock back: the owner's own (a guest's with its
    `X-Order-Token`), or anyone's by staff who may change orders (staff who may only see it get a
    403; anyone else a 404)."""

    permission_classes = [CustomerOrGuestOrder]

    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel a pending order",
        request=None,
        parameters=[ORDER_TOKEN_HEADER],
        responses={
            200: OrderDetailSerializer,
            403: staff_forbidden(Perm.CHANGE_ORDER, when=" as staff cancelling another user's order"),
            409: INVALID_TRANSITION,
        },
        examples=[schema_examples.ORDER_CANCELLED],
    )
    def post(self, request, pk: int):
        is_own = selectors.order_check_access(user=request.user, order_id=pk, order_token=_order_token(request))
        if not is_own and not user_has(request.user, Perm.CHANGE_ORDER):
            self.permission_denied(request)
        services.order_transition(
            order_id=pk,
            to_status=OrderStatus.CANCELLED,
            actor=Actor.CUSTOMER if is_own else Actor.STAFF,
            user=request.user if request.user.is_authenticated else None,
            note="Cancelled by the customer." if is_own else "Cancelled by staff.",
        )
        return _order_response(request, pk)


class OrderStatusView(APIView):
    """Staff move an order along its lifecycle (ship with a tracking number, deliver, cancel)."""

    permission_classes = [StaffPermission.require(Perm.CHANGE_ORDER)]

    @extend_schema(
        operation_id="orders_status_update",
        summary="Move an order along its lifecycle (staff)",
        request=OrderStatusUpdateSerializer,
        responses={200: OrderDetailSerializer, 403: staff_forbidden(Perm.CHANGE_ORDER), 409: INVALID_TRANSITION},
        examples=[schema_examples.ORDER_SHIPPED],
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
        return _order_response(request, pk)


class SalesReportView(APIView):
    """Staff: what paid orders brought in per day (gross, refunds, revenue net of refunds, tax,
    shipping, discounts, orders, average order value)."""

    permission_classes = [StaffPermission.require(Perm.VIEW_SALES_REPORT)]

    @extend_schema(
        operation_id="orders_sales_report",
        summary="Sales report per day (staff)",
        parameters=[SalesReportQuerySerializer],
        responses={200: SalesReportSerializer, 403: staff_forbidden(Perm.VIEW_SALES_REPORT)},
    )
    def get(self, request):
        query = SalesReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = selectors.order_sales_report(days=query.validated_data["days"])
        return Response(SalesReportSerializer(report).data)


class AnalyticsView(APIView):
    """Staff dashboard: what paid orders brought in, orders by status, top products, low stock."""

    permission_classes = [StaffPermission.require(Perm.VIEW_SALES_REPORT)]

    @extend_schema(
        operation_id="analytics_retrieve",
        summary="Shop analytics (staff)",
        responses={200: AnalyticsSerializer, 403: staff_forbidden(Perm.VIEW_SALES_REPORT)},
    )
    def get(self, request):
        return Response(AnalyticsSerializer(selectors.order_analytics()).data)


# --- Shipping methods and the checkout preview ------------------------------------------------


def _owner_cart(request):
    """The requester's cart (user, or X-Cart-Token) with its lines (None without one), and those
    lines as pricing's (key, quantity, variant) triples."""
    user = request.user if request.user.is_authenticated else None
    cart = cart_selectors.cart_get_for_owner(user=user, cart_token=request.headers.get("X-Cart-Token"))
    items = selectors.checkout_lines(cart_id=cart.pk) if cart is not None else []
    return cart, [(item.pk, item.quantity, item.variant) for item in items]


@extend_validation_errors(["required", "invalid"], field_name="country")
class ShippingMethodListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="shipping_methods_list",
        summary="Shipping methods for a destination",
        parameters=[ShippingMethodsQuerySerializer, CART_TOKEN_HEADER],
        responses={200: ShippingMethodSerializer(many=True)},
        description="The active methods that deliver to `country` (or to the country of `address_id`, one of "
        "your addresses) and take your current cart (its subtotal and weight), each priced as this cart "
        "would pay it (0 past its `free_over`). Not paginated.",
    )
    def get(self, request):
        query = ShippingMethodsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        country = query.validated_data.get("country")
        if query.validated_data.get("address_id"):
            if not request.user.is_authenticated:
                raise NotFound("Shipping address not found.", code=OrderErrorCode.ADDRESS_NOT_FOUND, attr="address_id")
            address = address_get_for_user(user=request.user, address_id=query.validated_data["address_id"])
            country = address.country
        lines = pricing_lines(_owner_cart(request)[1])
        subtotal = lines_subtotal(lines=lines, currency=settings.STORE_CURRENCY)
        methods = selectors.shipping_methods_for(
            country=country, subtotal=subtotal, weight_grams=lines_weight_grams(lines)
        )
        data = [
            {
                "id": method.pk,
                "name": method.name,
                "price": shipping_price(selectors.shipping_quote(method), subtotal=subtotal),
                "currency": settings.STORE_CURRENCY,
                "delivery_days_min": method.delivery_days_min,
                "delivery_days_max": method.delivery_days_max,
                "cod_allowed": method.cod_allowed,
            }
            for method in methods
        ]
        return Response(ShippingMethodSerializer(data, many=True).data)


@extend_validation_errors(["required", OrderErrorCode.CART_EMPTY], field_name="shipping_address_id", methods=["post"])
@extend_validation_errors(
    [OrderErrorCode.SHIPPING_METHOD_UNAVAILABLE], field_name="shipping_method_id", methods=["post"]
)
@extend_validation_errors([OrderErrorCode.CART_EMPTY], field_name="non_field_errors", methods=["post"])
@extend_validation_errors(CHECKOUT_VOUCHER_ERRORS, field_name="code", methods=["post"])
@_inline_address_errors
class CheckoutPreviewView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, UserRateThrottle]

    @extend_schema(
        operation_id="checkout_preview",
        summary="Price your cart for an address",
        parameters=[CART_TOKEN_HEADER],
        request=CheckoutPreviewSerializer,
        responses={200: CheckoutPreviewResponseSerializer},
        description="Lines, discount, shipping, tax and total of your cart delivered to the address, with the "
        "shipping method when given (without one, shipping is 0). The same function prices "
        "`POST /api/orders/create/`, so with nothing changed in between the order's totals are these. "
        "Writes nothing.",
    )
    def post(self, request):
        serializer = CheckoutPreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("shipping_address_id"):
            if not request.user.is_authenticated:
                raise NotFound(
                    "Shipping address not found.", code=OrderErrorCode.ADDRESS_NOT_FOUND, attr="shipping_address_id"
                )
            address = address_get_for_user(user=request.user, address_id=data["shipping_address_id"])
            destination = selectors.Destination(country=address.country, region=address.state)
        else:
            inline = data["shipping_address"]
            destination = selectors.Destination(country=inline["country"].upper(), region=inline.get("state", ""))
        cart, lines = _owner_cart(request)
        if not lines:
            raise ValidationFailed("Your cart is empty.", code=OrderErrorCode.CART_EMPTY)
        voucher_terms = None
        if cart.voucher_id is not None:
            customer = request.user if request.user.is_authenticated else None
            voucher_terms = vouchers.voucher_terms_for_checkout(
                voucher=selectors.voucher_checkout_get(voucher_id=cart.voucher_id, user_or_email=customer),
                lines=lines,
                user_or_email=customer,
            )
        price = selectors.checkout_price(
            lines=lines,
            destination=destination,
            shipping_method_id=data.get("shipping_method_id"),
            voucher=voucher_terms,
        )
        return Response(CheckoutPreviewResponseSerializer(price.breakdown).data)


# --- Vouchers -----------------------------------------------------------------------------------


class VoucherApplyThrottle(ScopedRateThrottle):
    """Codes tried on a cart, per user (or client address without a login): `THROTTLE_VOUCHER_RATE`.
    Against guessing codes, so it fails closed (novacart/throttling.py), like the sign-in limits."""

    scope = "voucher"


CART_TOKEN_HEADER = OpenApiParameter(
    "X-Cart-Token",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The anonymous cart's `cart_token`. Ignored when the request is authenticated; a missing, "
    "malformed or unknown token means no cart.",
)
VOUCHER_EXHAUSTED = OpenApiResponse(
    ErrorResponseSerializer,
    description="`voucher_exhausted`: the voucher's usage limit is reached, or this customer's (per-customer limit).",
)


def _cart_response(request, cart) -> Response:
    """The whole cart, as `GET /api/cart/` shows it (with what its voucher takes off)."""
    return render_cart(request, cart_get_with_lines(cart_id=cart.pk) if cart is not None else None)


@extend_validation_errors(
    [
        OrderErrorCode.VOUCHER_INVALID,
        OrderErrorCode.VOUCHER_EXPIRED,
        OrderErrorCode.VOUCHER_NOT_APPLICABLE,
        OrderErrorCode.VOUCHER_MIN_SUBTOTAL,
    ],
    field_name="code",
    methods=["post"],
)
class CartVoucherView(APIView):
    """The voucher of the cart: anyone with a cart (a user's, or an anonymous one by X-Cart-Token).
    Lives with the orders because vouchers are orders' (the cart app comes before orders)."""

    permission_classes = [AllowAny]

    def get_throttles(self):
        throttles = [AnonRateThrottle(), UserRateThrottle()]
        if self.request.method == "POST":
            throttles.append(VoucherApplyThrottle())
        return throttles

    def _owner(self, request) -> dict:
        user = request.user if request.user.is_authenticated else None
        return {"user": user, "cart_token": request.headers.get("X-Cart-Token")}

    @extend_schema(
        operation_id="cart_voucher_apply",
        summary="Apply a voucher to your cart",
        parameters=[CART_TOKEN_HEADER],
        request=CartVoucherApplySerializer,
        responses={200: CartSerializer, 409: VOUCHER_EXHAUSTED},
        description="Applies a voucher code (any case) to the cart, replacing the one it had: a cart holds one. "
        "The whole cart, with `voucher` and `discount_total` (what it takes off, priced as the checkout preview "
        "and the order price it; they check it again). Errors (attr `code`): 400 `voucher_invalid` (an unknown, "
        "inactive or not yet started code: one answer for all), `voucher_expired`, `voucher_not_applicable` "
        "(nothing in the cart is eligible; also without a cart), `voucher_min_subtotal`; 409 "
        "`voucher_exhausted`. Rate-limited per user or client address (`THROTTLE_VOUCHER_RATE`): 429.",
    )
    def post(self, request):
        serializer = CartVoucherApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = vouchers.cart_voucher_apply(**self._owner(request), code=serializer.validated_data["code"])
        return _cart_response(request, cart)

    @extend_schema(
        operation_id="cart_voucher_remove",
        summary="Remove the voucher from your cart",
        parameters=[CART_TOKEN_HEADER],
        request=None,
        responses={200: CartSerializer},
        description="Takes the voucher off the cart and answers with the whole cart (so the new totals come "
        "with it). Without a cart, or a voucher on it, nothing changes: also a 200.",
    )
    def delete(self, request):
        cart = vouchers.cart_voucher_remove(**self._owner(request))
        return _cart_response(request, cart)


VOUCHER_CODE_ERRORS = [OrderErrorCode.VOUCHER_CODE_TAKEN, OrderErrorCode.INVALID]


@extend_validation_errors(VOUCHER_CODE_ERRORS, field_name="code", methods=["post"])
@extend_validation_errors(["invalid", "does_not_exist"], field_name="categories", methods=["post"])
@extend_validation_errors(["invalid", "does_not_exist"], field_name="products", methods=["post"])
@extend_validation_errors([OrderErrorCode.INVALID], field_name="value", methods=["post"])
@extend_validation_errors([OrderErrorCode.INVALID], field_name="ends_at", methods=["post"])
class VoucherListView(GenericAPIView):
    """Staff: the vouchers, and new ones."""

    pagination_class = StandardPagination
    serializer_class = VoucherSerializer
    filter_backends: list = []

    def get_permissions(self):
        perm = Perm.ADD_VOUCHER if self.request.method == "POST" else Perm.VIEW_VOUCHER
        return [StaffPermission.require(perm)()]

    @extend_schema(
        operation_id="vouchers_list",
        summary="Vouchers (staff)",
        parameters=[VoucherListQuerySerializer],
        responses={200: VoucherSerializer(many=True), 403: staff_forbidden(Perm.VIEW_VOUCHER)},
    )
    def get(self, request):
        query = VoucherListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.voucher_list(search=query.validated_data.get("search", "")))
        return self.get_paginated_response(VoucherSerializer(page, many=True).data)

    @extend_schema(
        operation_id="vouchers_create",
        summary="Create a voucher (staff)",
        request=VoucherWriteSerializer,
        responses={201: VoucherSerializer, 403: staff_forbidden(Perm.ADD_VOUCHER)},
        description="The code is stored upper-case; a code another voucher has, in any case, is a 400 "
        "`voucher_code_taken`. `value`: percent more than 0 and at most 100, fixed more than 0, free "
        "shipping 0; `ends_at` after `starts_at` (400 `invalid` naming the field). `used_count` is read-only.",
    )
    def post(self, request):
        serializer = VoucherWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        voucher = vouchers.voucher_create(data=dict(serializer.validated_data))
        return Response(VoucherSerializer(selectors.voucher_get(voucher_id=voucher.pk)).data, status=201)


@extend_validation_errors(VOUCHER_CODE_ERRORS, field_name="code", methods=["patch"])
@extend_validation_errors(["invalid", "does_not_exist"], field_name="categories", methods=["patch"])
@extend_validation_errors(["invalid", "does_not_exist"], field_name="products", methods=["patch"])
@extend_validation_errors([OrderErrorCode.INVALID], field_name="value", methods=["patch"])
@extend_validation_errors([OrderErrorCode.INVALID], field_name="ends_at", methods=["patch"])
@extend_validation_errors([OrderErrorCode.INVALID], field_name="usage_limit", methods=["patch"])
class VoucherDetailView(APIView):
    """Staff: one voucher."""

    PERMS = {"GET": Perm.VIEW_VOUCHER, "PATCH": Perm.CHANGE_VOUCHER, "DELETE": Perm.DELETE_VOUCHER}

    def get_permissions(self):
        return [StaffPermission.require(self.PERMS.get(self.request.method, Perm.VIEW_VOUCHER))()]

    @extend_schema(
        operation_id="vouchers_retrieve",
        summary="A voucher (staff)",
        responses={200: VoucherSerializer, 403: staff_forbidden(Perm.VIEW_VOUCHER)},
    )
    def get(self, request, pk: int):
        return Response(VoucherSerializer(selectors.voucher_get(voucher_id=pk)).data)

    @extend_schema(
        operation_id="vouchers_update",
        summary="Update a voucher (staff)",
        request=VoucherWriteSerializer(partial=True),
        responses={200: VoucherSerializer, 403: staff_forbidden(Perm.CHANGE_VOUCHER)},
        description="Changes the fields sent. A usage limit under the uses so far is a 400 `invalid`; "
        "`used_count` is read-only (uses are counted by orders and given back when they are cancelled).",
    )
    def patch(self, request, pk: int):
        serializer = VoucherWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        vouchers.voucher_update(voucher_id=pk, data=dict(serializer.validated_data))
        return Response(VoucherSerializer(selectors.voucher_get(voucher_id=pk)).data)

    @extend_schema(
        operation_id="vouchers_destroy",
        summary="Delete or deactivate a voucher (staff)",
        request=None,
        responses={204: None, 403: staff_forbidden(Perm.DELETE_VOUCHER)},
        description="Deletes a voucher no order has used; one that has been used is deactivated instead "
        "(`is_active` false), so the orders that used it keep their history. Either way it can no longer "
        "be applied.",
    )
    def delete(self, request, pk: int):
        vouchers.voucher_delete(voucher_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Returns ------------------------------------------------------------------------------------

RETURN_NOT_FOUND = OpenApiResponse(ErrorResponseSerializer, description="`not_found`: no such return.")


@extend_validation_errors(
    [OrderErrorCode.INVALID_RETURN_LINE, *ITEM_INPUT_ERROR_CODES], field_name="lines", methods=["post"]
)
class OrderReturnsView(APIView):
    """The returns of one order: the customer asks for one; the owner (and staff who may see orders)
    list them."""

    @extend_schema(
        operation_id="orders_returns_list",
        summary="An order's returns",
        responses={200: ReturnSerializer(many=True), 404: OpenApiResponse(ErrorResponseSerializer)},
    )
    def get(self, request, pk: int):
        returns = selectors.return_list_for_order(user=request.user, order_id=pk)
        return Response(ReturnSerializer(returns, many=True).data)

    @extend_schema(
        operation_id="orders_returns_create",
        summary="Ask to return delivered units",
        request=ReturnRequestSerializer,
        responses={
            201: ReturnSerializer,
            400: OpenApiResponse(
                ErrorResponseSerializer,
                description="`invalid_return_line`: an item not of the order, named twice, or more units than "
                "were delivered and not asked back yet.",
            ),
            404: OpenApiResponse(ErrorResponseSerializer, description="`not_found`: not your order."),
            409: OpenApiResponse(
                ErrorResponseSerializer,
                description="`return_window_closed`: more than RETURN_WINDOW_DAYS after delivery; "
                "`invalid_transition`: the order is not delivered.",
            ),
        },
        examples=[
            OpenApiExample(
                "One unit back",
                value={"lines": [{"order_item_id": 101, "quantity": 1}], "reason": "Too small"},
                request_only=True,
            )
        ],
    )
    def post(self, request, pk: int):
        serializer = ReturnRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = returns.return_request(
            user=request.user,
            order_id=pk,
            lines=[returns.ReturnLineRequest(line["order_item_id"], line["quantity"]) for line in data["lines"]],
            reason=data["reason"],
        )
        return Response(ReturnSerializer(selectors.return_get(return_id=created.pk)).data, status=201)


class ReturnListView(GenericAPIView):
    """Staff who may see orders: every return, oldest first (`?status=REQUESTED` for the queue)."""

    pagination_class = StandardPagination
    serializer_class = ReturnSerializer
    filter_backends: list = []

    def get_permissions(self):
        return [StaffPermission.require_any(Perm.VIEW_ORDER, Perm.CHANGE_ORDER)()]

    @extend_schema(
        operation_id="returns_list",
        summary="Returns (staff)",
        parameters=[ReturnListQuerySerializer],
        responses={200: ReturnSerializer(many=True), 403: staff_forbidden(Perm.VIEW_ORDER)},
    )
    def get(self, request):
        query = ReturnListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.return_list(status=query.validated_data.get("status", "")))
        return self.get_paginated_response(ReturnSerializer(page, many=True).data)


@extend_validation_errors(list(ITEM_INPUT_ERROR_CODES), field_name="lines", methods=["patch"])
class ReturnDetailView(APIView):
    """Staff: one return; order managers approve, reject, or mark it received."""

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [StaffPermission.require(Perm.CHANGE_ORDER)()]
        return [StaffPermission.require_any(Perm.VIEW_ORDER, Perm.CHANGE_ORDER)()]

    @extend_schema(
        operation_id="returns_retrieve",
        summary="A return (staff)",
        responses={200: ReturnSerializer, 403: staff_forbidden(Perm.VIEW_ORDER), 404: RETURN_NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(ReturnSerializer(selectors.return_get(return_id=pk)).data)

    @extend_schema(
        operation_id="returns_update",
        summary="Approve, reject or receive a return (staff)",
        request=ReturnStatusUpdateSerializer,
        responses={
            200: ReturnSerializer,
            403: staff_forbidden(Perm.CHANGE_ORDER),
            404: RETURN_NOT_FOUND,
            409: INVALID_TRANSITION,
        },
    )
    def patch(self, request, pk: int):
        serializer = ReturnStatusUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        restock = {line["order_item_id"]: line["restock"] for line in data.get("lines", ())}
        returns.return_transition(
            return_id=pk,
            to_status=data["status"],
            actor=Actor.STAFF,
            user=request.user,
            note=data["note"],
            restock=restock or None,
        )
        return Response(ReturnSerializer(selectors.return_get(return_id=pk)).data)


@extend_validation_errors(["invalid_idempotency_key"], field_name="Idempotency-Key", methods=["post"])
class ReturnRefundView(APIView):
    """Finance: refunds a received return's units (restocking the lines marked so) in one step."""

    permission_classes = [StaffPermission.require(Perm.REFUND_PAYMENT)]

    @extend_schema(
        operation_id="returns_refund",
        summary="Refund a received return (staff)",
        request=None,
        parameters=[IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER],
        responses={
            200: ReturnSerializer,
            403: staff_forbidden(Perm.REFUND_PAYMENT),
            404: RETURN_NOT_FOUND,
            409: OpenApiResponse(
                ErrorResponseSerializer,
                description="`invalid_transition`: not RECEIVED, or being refunded already; "
                "`refund_exceeds_paid`, `payment_not_refundable`.",
            ),
            502: OpenApiResponse(ErrorResponseSerializer, description="`payment_provider_error`, `refund_failed`."),
        },
    )
    def post(self, request, pk: int):
        key = validate_idempotency_key(request.headers.get("Idempotency-Key"))
        user = request.user

        def refund() -> tuple[int, dict]:
            refund_for_return(return_id=pk, user=user)
            return 200, ReturnSerializer(selectors.return_get(return_id=pk)).data

        return idempotent_response(
            run_idempotent(user=user, scope="returns.refund", key=key, payload={"return_id": pk}, call=refund)
        )
