"""The price filters take what the price column can hold, and nothing else.

A value the column cannot hold reached the database: `?min_price=1E-999999` was a numeric overflow
on PostgreSQL (a 500). Every value here is tried on whichever database the suite runs on; CI runs
it on SQLite and on PostgreSQL.
"""

from decimal import Decimal

import pytest

from products.models import Product
from tests.factories import ProductFactory

from .utils import LIST_URL, result_ids

pytestmark = pytest.mark.django_db

PRICE = Product._meta.get_field("price")
WHOLE_DIGITS = PRICE.max_digits - PRICE.decimal_places
LARGEST = "9" * WHOLE_DIGITS + "." + "9" * PRICE.decimal_places  # 9999999999.99
PRICE_FILTERS = ["min_price", "max_price"]

REFUSED = {
    "tiny-exponent": "1E-999999",
    "huge-exponent": "1E+999999",
    "huge-exponent-lower": "1e999",
    "nan": "NaN",
    "negative-nan": "-NaN",
    "signalling-nan": "sNaN",
    "infinity": "Infinity",
    "negative-infinity": "-Infinity",
    "inf": "inf",
    "long-digits": "1" * 5_000,
    "long-fraction": "0." + "0" * 5_000 + "1",
    "one-more-decimal": "1." + "0" * PRICE.decimal_places + "1",
    "one-more-whole-digit": "1" + "0" * WHOLE_DIGITS,
    "exponent-past-the-column": f"1e{WHOLE_DIGITS}",
    "negative": "-1",
    "not-a-number": "abc",
}


@pytest.mark.parametrize("name", PRICE_FILTERS)
@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_a_price_filter_the_column_cannot_hold_is_a_400_naming_the_parameter(api_client, name, value):
    ProductFactory()

    response = api_client.get(LIST_URL, {name: value})

    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["type"] == "validation_error"
    assert [error["attr"] for error in body["errors"]] == [name]


@pytest.mark.parametrize(
    ("value", "price"),
    [
        ("-0", Decimal("0")),
        ("0", Decimal("0")),
        ("1e5", Decimal("100000")),
        ("1E+1", Decimal("10")),
        ("19.99", Decimal("19.99")),
        ("19.9", Decimal("19.90")),
        ("  25 ", Decimal("25")),
        ("0000000000000000000025", Decimal("25")),
        (LARGEST, Decimal(LARGEST)),
    ],
    ids=["negative-zero", "zero", "exponent", "small-exponent", "cents", "one-decimal", "spaces", "leading-zeros",
         "largest"],
)  # fmt: skip
def test_a_price_filter_the_column_can_hold_filters(api_client, value, price):
    below = ProductFactory(price=Decimal("0.01"))
    at = ProductFactory(price=max(price, Decimal("0.01")))
    above = ProductFactory(price=Decimal(LARGEST))

    at_least = set(result_ids(api_client.get(LIST_URL, {"min_price": value})))
    at_most = set(result_ids(api_client.get(LIST_URL, {"max_price": value})))

    assert at_least == {p.id for p in (below, at, above) if p.price >= price}
    assert at_most == {p.id for p in (below, at, above) if p.price <= price}
