"""Building orders the way customers do, for the order tests."""

from decimal import Decimal

from cart.models import Cart
from orders.models import Order, PaymentMethod
from orders.services import order_place_from_cart
from tests.factories import AddressFactory, CartItemFactory, ProductFactory


def fill_cart(user, *lines):
    """Gives `user` a cart holding (product, quantity) lines; returns the cart."""
    cart, _ = Cart.objects.get_or_create(user=user)
    for product, quantity in lines:
        CartItemFactory(cart=cart, product=product, quantity=quantity)
    return cart


def place_order(user, *, payment_method=PaymentMethod.CARD, lines=None, stock=10, price=Decimal("10.00")) -> Order:
    """A real order placed through the service, as a customer would."""
    if lines is None:
        lines = [(ProductFactory(stock=stock, price=price), 1)]
    fill_cart(user, *lines)
    address = AddressFactory(user=user)
    return order_place_from_cart(user=user, address_id=address.pk, payment_method=payment_method)
