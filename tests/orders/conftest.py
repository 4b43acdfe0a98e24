from decimal import Decimal

import pytest

from tests.factories import AddressFactory, ProductFactory

from .helpers import fill_cart


@pytest.fixture
def checkout(user):
    """A user with an address and a cart of two products (stock 10 each)."""
    first = ProductFactory(name="Blue Mug", sku="MUG-BLUE", price=Decimal("12.50"), stock=10)
    second = ProductFactory(name="Tea Towel", sku="TOWEL-1", price=Decimal("4.99"), stock=10)
    cart = fill_cart(user, (first, 2), (second, 3))
    address = AddressFactory(user=user, full_name="Ada Lovelace", city="London")
    return {"user": user, "products": [first, second], "cart": cart, "address": address}
