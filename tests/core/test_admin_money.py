from decimal import Decimal

from novacart.admin_base import money
from payments.provider_types import from_minor_units


def test_money_reads_as_an_amount_and_a_currency():
    assert money(Decimal("1019.90"), "usd") == "1,019.90 USD"
    assert money(from_minor_units(1999, "eur"), "eur") == "19.99 EUR"
    assert money(from_minor_units(500, "jpy"), "jpy") == "500 JPY"
    assert money(None, "usd") == "-"
