"""Every customer e-mail renders as clean plain text and escaped HTML."""

from decimal import Decimal

import pytest
from django.core import mail

from orders.emails import EMAIL_SUBJECTS, send_order_email
from tests.factories import AddressFactory, ProductFactory, UserFactory

from .helpers import fill_cart

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    from orders.services import order_place_from_cart

    user = UserFactory(first_name="Tom")
    product = ProductFactory(name="Salt & Pepper <Set>", sku="SP-1", price=Decimal("3.50"))
    fill_cart(user, (product, 2))
    address = AddressFactory(user=user, full_name="Tom O'Hara", line1="1 Main St", city="Springfield")
    placed = order_place_from_cart(user=user, address_id=address.pk, payment_method="card")
    placed.tracking_number = "TRK-9"
    placed.save(update_fields=["tracking_number"])
    mail.outbox.clear()
    return placed


@pytest.mark.parametrize("kind", sorted(EMAIL_SUBJECTS))
def test_email_renders_text_and_html(order, kind):
    send_order_email(order.pk, kind)

    (message,) = mail.outbox
    assert message.subject == EMAIL_SUBJECTS[kind].format(number=order.number)
    assert message.to == [order.user.email]
    text = message.body
    html = message.alternatives[0].content
    assert message.alternatives[0].mimetype == "text/html"
    assert text.startswith("Hello Tom,\n")
    assert "- 2 x Salt & Pepper <Set> (SP-1): 7.00 USD" in text  # plain text is not HTML-escaped
    assert "Total: 7.00 USD" in text
    assert "&amp;" not in text and "&#x27;" not in text
    assert html.startswith("<!DOCTYPE html>")
    assert "Salt &amp; Pepper &lt;Set&gt;" in html  # HTML is escaped
    assert "<Set>" not in html
    assert "<strong>7.00 USD</strong>" in html
    for rendered in (text, html):
        assert "{{" not in rendered and "{%" not in rendered
        assert order.number in rendered
        assert "\n\n\n" not in rendered


@pytest.mark.parametrize("kind", ["confirmation", "shipped"])
def test_confirmation_and_shipping_emails_show_the_address(order, kind):
    send_order_email(order.pk, kind)

    text = mail.outbox[0].body
    assert "Shipping to:\nTom O'Hara\n1 Main St\n" in text
    assert "Tom O&#x27;Hara" in mail.outbox[0].alternatives[0].content
