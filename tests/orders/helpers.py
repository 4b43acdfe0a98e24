"""Building orders the way customers do, for the order tests."""

from decimal import Decimal

from cart.models import Cart
from orders.models import Order, PaymentMethod
from orders.services import order_place_from_cart
from products.models import ProductVariant
from tests.factories import AddressFactory, CartItemFactory, ProductFactory


def fill_cart(user, *lines):
    """Gives `user` a cart holding (product or variant, quantity) lines; returns the cart. A product
    stands for its first variant (the only one of a product sold in one form)."""
    cart, _ = Cart.objects.get_or_create(user=user)
    for item, quantity in lines:
        if isinstance(item, ProductVariant):
            CartItemFactory(cart=cart, variant=item, quantity=quantity)
        else:
            CartItemFactory(cart=cart, product=item, quantity=quantity)
    return cart


def place_order(user, *, payment_method=PaymentMethod.CARD, lines=None, stock=10, price=Decimal("10.00")) -> Order:
    """A real order placed through the service, as a customer would."""
    if lines is None:
        lines = [(ProductFactory(stock=stock, price=price), 1)]
    fill_cart(user, *lines)
    address = AddressFactory(user=user)
    return order_place_from_cart(user=user, address_id=address.pk, payment_method=payment_method)
