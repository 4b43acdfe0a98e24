"""Cart endpoints. Anyone may use a cart: a logged-in user gets their own cart, an anonymous
client the cart of its X-Cart-Token header. A present but invalid Bearer token is still a 401."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from novacart.openapi import ErrorResponseSerializer
from novacart.throttling import AnonRateThrottle, UserRateThrottle
from orders.vouchers import cart_summarize_with_voucher

from . import selectors, services
from .error_codes import CartErrorCode
from .serializers import CartAddSerializer, CartSerializer, CartUpdateSerializer

CART_TOKEN_HEADER = OpenApiParameter(
    "X-Cart-Token",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The anonymous cart's `cart_token`. Ignored when the request is authenticated; a missing, "
    "malformed or unknown token means no cart.",
)
OUT_OF_STOCK = OpenApiResponse(
    ErrorResponseSerializer,
    description="`out_of_stock`: the line would hold more than the stock; the detail says how many are available.",
)


def render_cart(request, cart, status_code=status.HTTP_200_OK) -> Response:
    """The answer of every cart endpoint that shows the cart (here and `POST/DELETE /api/cart/voucher/`):
    `cart` loaded with its lines, or None. What its voucher takes off is priced by orders (pricing is
    theirs: orders.vouchers.cart_summarize_with_voucher)."""
    summary = cart_summarize_with_voucher(cart=cart, user=request.user)
    return Response(CartSerializer(summary, context={"request": request}).data, status=status_code)


class CartBaseView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, UserRateThrottle]

    def owner(self, request) -> dict:
        user = request.user if request.user.is_authenticated else None
        return {"user": user, "cart_token": request.headers.get("X-Cart-Token")}

    def render_cart(self, cart, status_code=status.HTTP_200_OK) -> Response:
        return render_cart(self.request, cart, status_code)

    def render_written_cart(self, cart, status_code=status.HTTP_200_OK) -> Response:
        """The cart a service just wrote (and handed back): its lines read again, the cart not."""
        return self.render_cart(selectors.cart_with_lines(cart=cart), status_code)


class CartLineView(CartBaseView):
    """A command on one line of the cart. The route names the line `cart_id` (the documented path,
    `/api/cart/update/<cart_id>/`, and the schema's parameter): it is a cart item's id, and the
    handlers receive it as `item_id`."""

    def dispatch(self, request, *args, cart_id: int, **kwargs):
        return super().dispatch(request, *args, item_id=cart_id, **kwargs)


class CartView(CartBaseView):
    @extend_schema(
        operation_id="cart_retrieve",
        summary="Your cart",
        parameters=[CART_TOKEN_HEADER],
        responses={200: CartSerializer},
        description="The cart with current prices and server-computed totals. Without a cart (anonymous, no or "
        "unknown token) an empty cart with `id` and `cart_token` null; no cart is created by reading. Its voucher "
        "is checked again on the cart as it is: `discount_total` is what the checkout would take off, and a "
        "voucher the checkout would refuse now stays on the cart with 0.00 off and its refusal as "
        "`voucher.problem` (the code the preview and the order answer with).",
    )
    def get(self, request):
        return self.render_cart(selectors.cart_get_for_owner(**self.owner(request), with_lines=True))


@extend_validation_errors(
    [CartErrorCode.PRODUCT_UNAVAILABLE, CartErrorCode.CART_FULL, "required"], field_name="product_id"
)
@extend_validation_errors(
    [CartErrorCode.PRODUCT_UNAVAILABLE, CartErrorCode.VARIANT_REQUIRED, CartErrorCode.CART_FULL],
    field_name="variant_id",
)
@extend_validation_errors([CartErrorCode.QUANTITY_LIMIT_EXCEEDED, CartErrorCode.MAX_VALUE], field_name="quantity")
class CartAddView(CartBaseView):
    @extend_schema(
        operation_id="cart_add",
        summary="Add a product to the cart",
        parameters=[CART_TOKEN_HEADER],
        request=CartAddSerializer,
        responses={
            201: OpenApiResponse(CartSerializer, description="A new line was created; the whole cart."),
            200: OpenApiResponse(CartSerializer, description="An existing line grew; the whole cart."),
            409: OUT_OF_STOCK,
        },
        description="Adds to the line of that variant (one line per variant): `variant_id`, or `product_id` "
        "for a product sold in one form (a product with several variants is a 400 `variant_required`). "
        "An anonymous client without a (known) token gets a new cart: keep its `cart_token` from the response.",
    )
    def post(self, request):
        serializer = CartAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.cart_add_item(**self.owner(request), **serializer.validated_data)
        return self.render_written_cart(result.cart, status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


@extend_validation_errors([CartErrorCode.PRODUCT_UNAVAILABLE], field_name="non_field_errors")
@extend_validation_errors([CartErrorCode.QUANTITY_LIMIT_EXCEEDED, CartErrorCode.MAX_VALUE], field_name="quantity")
class CartUpdateView(CartLineView):
    @extend_schema(
        operation_id="cart_update_item",
        summary="Change the quantity of a cart line",
        parameters=[CART_TOKEN_HEADER],
        request=CartUpdateSerializer,
        responses={200: CartSerializer, 409: OUT_OF_STOCK},
        description="Sets the quantity of a line (`cart_id` is the cart item's id); 0 removes it. "
        "A line that is not in your cart is a 404.",
    )
    def patch(self, request, item_id: int):
        serializer = CartUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = services.cart_update_item(
            **self.owner(request), item_id=item_id, quantity=serializer.validated_data["quantity"]
        )
        return self.render_written_cart(cart)


class CartRemoveView(CartLineView):
    @extend_schema(
        operation_id="cart_remove_item",
        summary="Remove a cart line",
        parameters=[CART_TOKEN_HEADER],
        request=None,
        responses={204: None},
        description="Removes a line (`cart_id` is the cart item's id). A line that is not in your cart is a 404.",
    )
    def delete(self, request, item_id: int):
        services.cart_remove_item(**self.owner(request), item_id=item_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CartClearView(CartBaseView):
    @extend_schema(
        operation_id="cart_clear",
        summary="Empty the cart",
        parameters=[CART_TOKEN_HEADER],
        request=None,
        responses={204: None},
        description="Removes every line of your cart (204 also when there is no cart).",
    )
    def delete(self, request):
        services.cart_clear(**self.owner(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
