"""Shipping and tax at checkout (API.md "Checkout pricing"): the shipping-method list, the preview,
and the order priced by the same function inside its transaction."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from orders.models import Order, PaymentMethod, ShippingMethod, ShippingZone, TaxRate
from tests.factories import AddressFactory, ProductFactory, VoucherFactory, set_price

from .helpers import fill_cart

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def uk():
    """Royal Mail at 3.95, free over 50.00; a courier at 7.95 for carts up to 2 kg; VAT 20%."""
    zone = ShippingZone.objects.create(name="UK", countries=["GB"])
    post = ShippingMethod.objects.create(zone=zone, name="Royal Mail", price=D("3.95"), free_over=D("50.00"))
    courier = ShippingMethod.objects.create(
        zone=zone, name="Courier", price=D("7.95"), max_weight_grams=2000, delivery_days_min=1, delivery_days_max=1
    )
    TaxRate.objects.create(country="GB", name="VAT 20%", rate=D("0.20"))
    return {"post": post, "courier": courier}


@pytest.fixture
def basket(user):
    """Two mugs at 12.50 (400 g each) and a towel at 4.99 (100 g): 29.99, 900 g."""
    mug = ProductFactory(name="Mug", sku="MUG", price=D("12.50"), stock=10, weight_grams=400)
    towel = ProductFactory(name="Towel", sku="TWL", price=D("4.99"), stock=10, weight_grams=100)
    cart = fill_cart(user, (mug, 2), (towel, 1))
    return {"mug": mug, "towel": towel, "cart": cart}


def _gb_address(user, **kwargs):
    return AddressFactory(user=user, country="GB", state="", postal_code="SW1A 1AA", **kwargs)


def test_shipping_methods_for_a_country_are_priced_for_this_cart(user_client, uk, basket):
    response = user_client.get("/api/shipping-methods/", {"country": "gb"})

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": uk["post"].pk,
            "name": "Royal Mail",
            "price": "3.95",
            "currency": "usd",
            "delivery_days_min": 2,
            "delivery_days_max": 5,
            "cod_allowed": False,
        },
        {
            "id": uk["courier"].pk,
            "name": "Courier",
            "price": "7.95",
            "currency": "usd",
            "delivery_days_min": 1,
            "delivery_days_max": 1,
            "cod_allowed": False,
        },
    ]


def test_free_over_and_weight_bounds_follow_the_cart(user, user_client, uk, basket):
    set_price(basket["towel"], "30.00")  # 55.00 now: Royal Mail is free
    heavy = ProductFactory(price=D("1.00"), stock=5, weight_grams=1500)
    fill_cart(user, (heavy, 1))  # 2.4 kg: too heavy for the courier

    methods = user_client.get("/api/shipping-methods/", {"country": "GB"}).json()

    assert [(m["name"], m["price"]) for m in methods] == [("Royal Mail", "0.00")]


def test_shipping_methods_by_address_and_for_nowhere(user, user_client, uk, basket, other_user):
    mine = _gb_address(user)
    theirs = _gb_address(other_user)

    assert len(user_client.get("/api/shipping-methods/", {"address_id": mine.pk}).json()) == 2
    assert user_client.get("/api/shipping-methods/", {"address_id": theirs.pk}).status_code == 404
    assert user_client.get("/api/shipping-methods/", {"country": "FR"}).json() == []
    bad = user_client.get("/api/shipping-methods/", {"country": "XX"})
    missing = user_client.get("/api/shipping-methods/")
    assert (bad.status_code, bad.json()["errors"][0]["attr"]) == (400, "country")
    assert (missing.status_code, missing.json()["errors"][0]["code"]) == (400, "required")


def test_an_anonymous_cart_gets_its_methods_too(api_client, uk):
    lamp = ProductFactory(price=D("60.00"), stock=3)
    token = api_client.post("/api/cart/add/", {"product_id": lamp.pk}, format="json").json()["cart_token"]

    methods = api_client.get("/api/shipping-methods/", {"country": "GB"}, HTTP_X_CART_TOKEN=token).json()

    assert methods[0]["price"] == "0.00"  # free over 50


def test_preview_prices_lines_shipping_and_tax(user, user_client, uk, basket):
    address = _gb_address(user)

    response = user_client.post(
        "/api/checkout/preview/",
        {"shipping_address_id": address.pk, "shipping_method_id": uk["post"].pk},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    mug_line = basket["cart"].items.get(product=basket["mug"])
    assert body["lines"][0] == {
        "item_id": mug_line.pk,
        "variant_id": mug_line.variant_id,
        "quantity": 2,
        "unit_price": "12.50",
        "discount": "0.00",
        "tax": "5.00",
        "line_total": "30.00",
    }
    # 29.99 + 3.95 shipping; tax 5.00 + 1.00 + 0.79 (shipping at the standard rate) = 6.79
    assert (body["subtotal"], body["shipping_total"], body["tax_total"], body["total"]) == (
        "29.99",
        "3.95",
        "6.79",
        "40.73",
    )
    assert body["tax_lines"] == [{"name": "VAT 20%", "rate": "0.2000", "amount": "6.79"}]
    assert body["shipping_method"] == {"id": uk["post"].pk, "name": "Royal Mail"}
    assert (body["discount_total"], body["voucher"], body["prices_include_tax"]) == ("0.00", None, False)


def test_preview_equals_the_order(user, user_client, uk, basket):
    address = _gb_address(user)
    body = {"shipping_address_id": address.pk, "shipping_method_id": uk["courier"].pk}
    preview = user_client.post("/api/checkout/preview/", body, format="json").json()

    order = user_client.post("/api/orders/create/", {**body, "payment_method": "card"}, format="json").json()

    for field in ("subtotal", "discount_total", "shipping_total", "tax_total", "total"):
        assert order[field] == preview[field], field
    assert order["tax_lines"] == preview["tax_lines"]
    assert order["shipping_method"] == {"id": uk["courier"].pk, "name": "Courier"}
    assert [(i["tax"], i["discount"], i["line_total"]) for i in order["items"]] == [
        (line["tax"], line["discount"], line["line_total"]) for line in preview["lines"]
    ]


def test_the_created_order_answers_what_its_detail_shows(user, user_client, uk, basket):
    """orders/create answers from the rows it has just written: exactly what GET shows of them,
    shipping, tax lines, a voucher's shares, the address snapshot and the first status change."""
    VoucherFactory(code="TENOFF", kind="percent", value=D("10"))
    assert user_client.post("/api/cart/voucher/", {"code": "TENOFF"}, format="json").status_code == 200
    address = _gb_address(user)
    body = {"shipping_address_id": address.pk, "shipping_method_id": uk["post"].pk, "payment_method": "card"}

    created = user_client.post("/api/orders/create/", body, format="json")

    assert created.status_code == 201, created.content
    detail = user_client.get(f"/api/orders/{created.json()['id']}/")
    assert created.json() == detail.json()
    assert created.json()["voucher_code"] == "TENOFF" and created.json()["tax_lines"]
    assert [change["to_status"] for change in created.json()["status_history"]] == ["PENDING"]


def test_the_order_is_priced_from_the_server_own_data_at_the_time(user, user_client, uk, basket):
    """A price change between preview and order: the order charges the new price; the client never
    sends one."""
    address = _gb_address(user)
    body = {"shipping_address_id": address.pk, "shipping_method_id": uk["post"].pk}
    preview = user_client.post("/api/checkout/preview/", body, format="json").json()
    set_price(basket["mug"], "15.00")

    order = user_client.post(
        "/api/orders/create/", {**body, "payment_method": "card", "total": "0.01"}, format="json"
    ).json()

    assert preview["subtotal"] == "29.99"
    assert order["subtotal"] == "34.99"
    assert Order.objects.get().total == D("34.99") + D("3.95") + D("7.79")


def test_an_order_needs_a_shipping_method_once_the_shop_offers_them(user, user_client, uk, basket):
    address = _gb_address(user)
    france = AddressFactory(user=user, country="FR")

    missing = user_client.post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "card"}, format="json"
    )
    elsewhere = user_client.post(
        "/api/orders/create/",
        {"shipping_address_id": france.pk, "payment_method": "card", "shipping_method_id": uk["post"].pk},
        format="json",
    )

    assert (missing.status_code, missing.json()["errors"][0]["code"]) == (400, "shipping_method_required")
    assert (elsewhere.status_code, elsewhere.json()["errors"][0]["code"]) == (400, "shipping_method_unavailable")
    assert not Order.objects.exists()
    basket["mug"].refresh_from_db()
    assert basket["mug"].stock == 10


def test_without_shipping_methods_shipping_is_free_and_needs_no_method(user, user_client, basket):
    address = AddressFactory(user=user)

    response = user_client.post(
        "/api/orders/create/", {"shipping_address_id": address.pk, "payment_method": "card"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["subtotal"], body["shipping_total"], body["tax_total"], body["total"]) == (
        "29.99",
        "0.00",
        "0.00",
        "29.99",
    )
    assert body["shipping_method"] is None and body["tax_lines"] == []


def test_cash_on_delivery_needs_a_method_that_takes_it(user, user_client, uk, basket):
    address = _gb_address(user)

    refused = user_client.post(
        "/api/orders/create/",
        {"shipping_address_id": address.pk, "payment_method": "cod", "shipping_method_id": uk["post"].pk},
        format="json",
    )
    ShippingMethod.objects.filter(pk=uk["post"].pk).update(cod_allowed=True)
    accepted = user_client.post(
        "/api/orders/create/",
        {"shipping_address_id": address.pk, "payment_method": "cod", "shipping_method_id": uk["post"].pk},
        format="json",
    )

    assert refused.status_code == 400
    assert (refused.json()["errors"][0]["code"], refused.json()["errors"][0]["attr"]) == (
        "cod_not_allowed",
        "payment_method",
    )
    assert accepted.status_code == 201
    assert Order.objects.get().payment_method == PaymentMethod.COD


def test_prices_that_include_tax_report_the_tax_inside(user, user_client, uk, basket, settings):
    settings.PRICES_INCLUDE_TAX = True
    address = _gb_address(user)

    body = user_client.post(
        "/api/checkout/preview/",
        {"shipping_address_id": address.pk, "shipping_method_id": uk["post"].pk},
        format="json",
    ).json()

    # 25.00 holds 4.17 of VAT, 4.99 holds 0.83, the 3.95 shipping 0.66; the total is what was shown.
    assert (body["total"], body["tax_total"], body["prices_include_tax"]) == ("33.94", "5.66", True)


def test_preview_with_an_inline_address_for_an_anonymous_cart(api_client, uk):
    lamp = ProductFactory(price=D("10.00"), stock=3)
    token = api_client.post("/api/cart/add/", {"product_id": lamp.pk}, format="json").json()["cart_token"]
    address = {
        "full_name": "Ada Lovelace",
        "phone": "+44 20 7946 0000",
        "line1": "1 Main St",
        "city": "London",
        "postal_code": "SW1A 1AA",
        "country": "gb",
    }

    response = api_client.post(
        "/api/checkout/preview/",
        {"shipping_address": address, "shipping_method_id": uk["courier"].pk},
        format="json",
        HTTP_X_CART_TOKEN=token,
    )

    assert response.status_code == 200, response.content
    assert response.json()["total"] == "21.54"  # 10.00 + 7.95 + 20% of both
    empty = api_client.post("/api/checkout/preview/", {"shipping_address": address}, format="json")
    assert (empty.status_code, empty.json()["errors"][0]["code"]) == (400, "cart_empty")


def test_seed_checkout_demo_gives_the_demo_shop_shipping_and_tax_once():
    call_command("seed_checkout_demo", "--quiet")
    zones, rates = ShippingZone.objects.count(), TaxRate.objects.count()
    call_command("seed_checkout_demo", "--quiet")

    assert (ShippingZone.objects.count(), TaxRate.objects.count()) == (zones, rates)
    countries = {country for zone in ShippingZone.objects.all() for country in zone.countries}
    assert {"GB", "US", "DE", "IN"} <= countries
    assert ShippingMethod.objects.filter(free_over__isnull=False).exists()
    assert ShippingMethod.objects.filter(cod_allowed=True).exists()
    assert TaxRate.objects.filter(country="IN", rate=D("0.18")).exists()


def test_the_confirmation_e_mail_and_the_admin_page_show_the_breakdown(
    user, user_client, uk, basket, admin_client, django_capture_on_commit_callbacks
):
    from django.core import mail
    from django.urls import reverse

    address = _gb_address(user)
    with django_capture_on_commit_callbacks(execute=True):
        user_client.post(
            "/api/orders/create/",
            {"shipping_address_id": address.pk, "payment_method": "card", "shipping_method_id": uk["post"].pk},
            format="json",
        )
    order = Order.objects.get()

    text = mail.outbox[-1].body
    assert "Shipping (Royal Mail): 3.95 USD" in text
    assert "VAT 20%: 6.79 USD" in text
    assert "Total: 40.73 USD" in text
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Shipping: Royal Mail" in page and "VAT 20%" in page
