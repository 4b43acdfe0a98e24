"""Vouchers through the HTTP API: applying and removing a code on a user's and an anonymous cart
(`/api/cart/voucher/`), the rate limit on guessing, and the staff endpoints (`/api/vouchers/`)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from cart.models import Cart
from novacart.permissions import CATALOG_MANAGERS, FINANCE, ORDER_MANAGERS, SUPPORT
from orders import vouchers
from orders.models import Voucher, VoucherKind
from tests.conftest import auth_client
from tests.factories import (
    CartFactory,
    CartItemFactory,
    CategoryFactory,
    OrderFactory,
    ProductFactory,
    UserFactory,
    VoucherFactory,
    staff_in,
)

from .helpers import fill_cart

pytestmark = pytest.mark.django_db

URL = "/api/cart/voucher/"


def errors(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


@pytest.fixture
def shopper(user):
    fill_cart(user, (ProductFactory(name="Blue Mug", price=Decimal("12.50"), stock=10), 2))
    return user


@pytest.fixture
def anonymous_cart():
    cart = CartFactory(user=None)
    CartItemFactory(cart=cart, product=ProductFactory(price=Decimal("30.00")), quantity=1)
    return cart


@pytest.fixture
def lower_rates(settings):
    def lower(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return lower


# --- the cart's voucher -------------------------------------------------------------------------------


def test_a_user_applies_a_code_in_any_case_and_the_cart_shows_it(shopper, user_client):
    VoucherFactory(code="SUMMER10", kind=VoucherKind.PERCENT, value=Decimal("10"))

    response = user_client.post(URL, {"code": " summer10"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["voucher"] == {"code": "SUMMER10", "kind": "percent", "value": "10.00", "problem": None}
    assert (body["total_items"], body["subtotal"], body["discount_total"], body["cart_token"]) == (
        2,
        "25.00",
        "2.50",
        None,
    )
    assert user_client.get("/api/cart/").json()["voucher"] == body["voucher"]


def test_a_user_removes_the_voucher_and_gets_the_cart_back(shopper, user_client):
    VoucherFactory(code="SUMMER10")
    user_client.post(URL, {"code": "SUMMER10"}, format="json")

    response = user_client.delete(URL)

    assert response.status_code == 200
    assert response.json()["voucher"] is None
    assert (response.json()["total_items"], response.json()["discount_total"]) == (2, "0.00")
    assert Cart.objects.get(user=shopper).voucher is None


def test_an_anonymous_cart_applies_and_removes_a_voucher_by_its_token(anonymous_cart):
    VoucherFactory(code="ANON5", kind=VoucherKind.FIXED, value=Decimal("5.00"))
    client = APIClient()

    applied = client.post(URL, {"code": "anon5"}, format="json", HTTP_X_CART_TOKEN=anonymous_cart.token)
    shown = client.get("/api/cart/", HTTP_X_CART_TOKEN=anonymous_cart.token)
    removed = client.delete(URL, HTTP_X_CART_TOKEN=anonymous_cart.token)

    assert applied.status_code == 200, applied.content
    assert applied.json()["cart_token"] == anonymous_cart.token
    assert applied.json()["voucher"] == {"code": "ANON5", "kind": "fixed", "value": "5.00", "problem": None}
    assert shown.json()["voucher"] == applied.json()["voucher"]
    assert shown.json()["discount_total"] == applied.json()["discount_total"] == "5.00"
    assert removed.status_code == 200
    assert (removed.json()["voucher"], removed.json()["discount_total"]) == (None, "0.00")
    assert Cart.objects.get(pk=anonymous_cart.pk).voucher is None


def test_someone_else_s_cart_token_does_not_reach_their_cart(anonymous_cart, user_client):
    VoucherFactory(code="ANON5")

    response = user_client.post(URL, {"code": "ANON5"}, format="json", HTTP_X_CART_TOKEN=anonymous_cart.token)

    assert errors(response) == [("voucher_not_applicable", "code")]
    assert Cart.objects.get(pk=anonymous_cart.pk).voucher is None


def test_without_a_cart_the_answer_is_not_applicable_and_no_cart_is_made():
    VoucherFactory(code="SUMMER10")

    response = APIClient().post(URL, {"code": "SUMMER10"}, format="json")
    removed = APIClient().delete(URL)

    assert response.status_code == 400
    assert errors(response) == [("voucher_not_applicable", "code")]
    assert removed.status_code == 200
    assert removed.json()["id"] is None and removed.json()["voucher"] is None
    assert Cart.objects.count() == 0


def test_unknown_inactive_and_not_started_codes_answer_exactly_alike(shopper, user_client):
    VoucherFactory(code="INACTIVE", is_active=False)
    VoucherFactory(code="SOON", starts_at=timezone.now() + timedelta(hours=1))

    answers = [user_client.post(URL, {"code": code}, format="json") for code in ("NOPE", "INACTIVE", "SOON")]

    assert {response.status_code for response in answers} == {400}
    assert [response.json() for response in answers] == [
        {
            "type": "validation_error",
            "errors": [{"code": "voucher_invalid", "detail": "This voucher code is not valid.", "attr": "code"}],
        }
    ] * 3
    assert Cart.objects.get(user=shopper).voucher is None


def test_refusals_have_their_codes_and_statuses(shopper, user_client):
    now = timezone.now()
    VoucherFactory(code="OLD", starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1))
    VoucherFactory(code="BIG", min_subtotal=Decimal("100.00"))
    VoucherFactory(code="LAMPS", categories=[CategoryFactory()])
    VoucherFactory(code="GONE", usage_limit=1, used_count=1)

    statuses = {
        code: (response.status_code, errors(response))
        for code in ("OLD", "BIG", "LAMPS", "GONE")
        for response in [user_client.post(URL, {"code": code}, format="json")]
    }

    assert statuses == {
        "OLD": (400, [("voucher_expired", "code")]),
        "BIG": (400, [("voucher_min_subtotal", "code")]),
        "LAMPS": (400, [("voucher_not_applicable", "code")]),
        "GONE": (409, [("voucher_exhausted", "code")]),
    }
    assert Cart.objects.get(user=shopper).voucher is None


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "X" * 65}, {"code": 12}])
def test_a_body_without_a_code_is_a_400_on_code(shopper, user_client, body):
    response = user_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert {attr for _code, attr in errors(response)} <= {"code"}


# --- guessing codes is rate-limited -------------------------------------------------------------------


def test_code_attempts_are_limited_per_user(shopper, user_client, lower_rates):
    lower_rates(voucher="3/min")
    VoucherFactory(code="REAL")
    other = UserFactory()
    fill_cart(other, (ProductFactory(), 1))

    tries = [user_client.post(URL, {"code": f"GUESS{i}"}, format="json").status_code for i in range(3)]
    blocked = user_client.post(URL, {"code": "REAL"}, format="json")
    removal = user_client.delete(URL)  # removing is not guessing
    someone_else = auth_client(other).post(URL, {"code": "REAL"}, format="json")

    assert tries == [400, 400, 400]
    assert blocked.status_code == 429
    assert blocked.json()["errors"][0]["code"] == "throttled"
    assert Cart.objects.get(user=shopper).voucher is None
    assert removal.status_code == 200
    assert someone_else.status_code == 200


def test_code_attempts_without_a_login_are_limited_per_client_address(anonymous_cart, lower_rates):
    lower_rates(voucher="2/min")
    VoucherFactory(code="REAL")
    token = anonymous_cart.token

    def attempt(code, address="203.0.113.5", **headers):
        return APIClient().post(URL, {"code": code}, format="json", REMOTE_ADDR=address, **headers)

    first, second = attempt("GUESS1"), attempt("GUESS2", HTTP_X_CART_TOKEN=token)
    third = attempt("REAL", HTTP_X_CART_TOKEN=token)  # another cart token changes nothing
    elsewhere = attempt("REAL", address="198.51.100.7", HTTP_X_CART_TOKEN=token)

    assert (first.status_code, second.status_code, third.status_code) == (400, 400, 429)
    assert elsewhere.status_code == 200


# --- staff ------------------------------------------------------------------------------------------


@pytest.fixture
def catalog_client():
    return auth_client(staff_in(CATALOG_MANAGERS))


def test_staff_create_a_voucher_with_its_code_upper_cased(catalog_client):
    category, product = CategoryFactory(), ProductFactory()
    body = {
        "code": "spring-25",
        "kind": "fixed",
        "value": "5.00",
        "min_subtotal": "30.00",
        "starts_at": "2030-03-01T00:00:00Z",
        "ends_at": "2030-04-01T00:00:00Z",
        "usage_limit": 100,
        "per_customer_limit": 1,
        "categories": [category.pk],
        "products": [product.pk, product.pk],
        "used_count": 99,  # read-only: ignored
    }

    response = catalog_client.post("/api/vouchers/", body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert {key: data[key] for key in ("code", "kind", "value", "min_subtotal", "usage_limit", "used_count")} == {
        "code": "SPRING-25",
        "kind": "fixed",
        "value": "5.00",
        "min_subtotal": "30.00",
        "usage_limit": 100,
        "used_count": 0,
    }
    assert (data["categories"], data["products"], data["is_active"]) == ([category.pk], [product.pk], True)
    voucher = Voucher.objects.get()
    assert (voucher.code, voucher.used_count, voucher.ends_at.month) == ("SPRING-25", 0, 4)


def test_free_shipping_needs_no_value(catalog_client):
    response = catalog_client.post("/api/vouchers/", {"code": "SHIPFREE", "kind": "free_shipping"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["value"] == "0.00"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"code": "summer10", "kind": "percent", "value": "5"}, [("voucher_code_taken", "code")]),
        ({"code": "NEW", "kind": "percent", "value": "150"}, [("invalid", "value")]),
        ({"code": "NEW", "kind": "percent", "value": "0"}, [("invalid", "value")]),
        ({"code": "NEW", "kind": "fixed", "value": "0.00"}, [("invalid", "value")]),
        ({"code": "NEW", "kind": "fixed", "value": "-1"}, [("min_value", "value")]),
        ({"code": "NEW", "kind": "free_shipping", "value": "3"}, [("invalid", "value")]),
        (
            {
                "code": "NEW",
                "kind": "fixed",
                "value": "5",
                "starts_at": "2030-01-02T00:00:00Z",
                "ends_at": "2030-01-01T00:00:00Z",
            },
            [("invalid", "ends_at")],
        ),
        ({"code": "has space", "kind": "fixed", "value": "5"}, [("invalid", "code")]),
        ({"code": "NEW", "kind": "bogo", "value": "5"}, [("invalid_choice", "kind")]),
        ({"code": "NEW", "kind": "fixed", "value": "5", "usage_limit": 0}, [("min_value", "usage_limit")]),
        ({"code": "NEW", "kind": "fixed", "value": "5", "categories": [987654]}, [("does_not_exist", "categories")]),
        ({"code": "NEW", "kind": "fixed", "value": "5", "products": ["1", 2.5]}, [("invalid", "products")]),
    ],
    ids=[
        "code-taken-other-case",
        "percent-over-100",
        "percent-zero",
        "fixed-zero",
        "negative",
        "free-shipping-value",
        "ends-before-start",
        "code-form",
        "kind",
        "usage-limit-zero",
        "unknown-category",
        "not-ids",
    ],
)
def test_staff_input_is_validated(catalog_client, body, expected):
    VoucherFactory(code="SUMMER10")

    response = catalog_client.post("/api/vouchers/", body, format="json")

    assert response.status_code == 400, response.content
    assert errors(response) == expected
    assert Voucher.objects.count() == 1


def test_staff_list_search_read_and_update(catalog_client):
    VoucherFactory(code="SPRING-AAA")
    target = VoucherFactory(code="SPRING-BBB", usage_limit=10, used_count=2)
    VoucherFactory(code="AUTUMN")

    listed = catalog_client.get("/api/vouchers/", {"search": "spring-"})
    read = catalog_client.get(f"/api/vouchers/{target.pk}/")
    updated = catalog_client.patch(
        f"/api/vouchers/{target.pk}/", {"value": "20", "used_count": 0, "code": "spring-ccc"}, format="json"
    )
    too_low = catalog_client.patch(f"/api/vouchers/{target.pk}/", {"usage_limit": 1}, format="json")

    assert listed.status_code == 200
    assert [row["code"] for row in listed.json()["results"]] == ["SPRING-BBB", "SPRING-AAA"]
    assert read.json()["used_count"] == 2
    assert updated.status_code == 200, updated.content
    assert (updated.json()["code"], updated.json()["value"], updated.json()["used_count"]) == (
        "SPRING-CCC",
        "20.00",
        2,
    )
    assert errors(too_low) == [("invalid", "usage_limit")]
    assert Voucher.objects.get(pk=target.pk).usage_limit == 10


def test_delete_removes_an_unused_voucher_and_deactivates_a_used_one(catalog_client, shopper):
    unused, used = VoucherFactory(), VoucherFactory()
    with transaction.atomic():
        vouchers.voucher_redeem(voucher_id=used.pk, order=OrderFactory(user=shopper), user=shopper)

    gone = catalog_client.delete(f"/api/vouchers/{unused.pk}/")
    kept = catalog_client.delete(f"/api/vouchers/{used.pk}/")
    missing = catalog_client.get(f"/api/vouchers/{unused.pk}/")

    assert (gone.status_code, kept.status_code, missing.status_code) == (204, 204, 404)
    assert list(Voucher.objects.values_list("pk", "is_active")) == [(used.pk, False)]


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        (CATALOG_MANAGERS, 200, 201),
        (FINANCE, 200, 403),
        (SUPPORT, 200, 403),
        (ORDER_MANAGERS, 403, 403),
    ],
)
def test_who_may_read_and_write_vouchers(role, read, write):
    client = auth_client(staff_in(role))

    listed = client.get("/api/vouchers/")
    created = client.post("/api/vouchers/", {"code": "ROLES", "kind": "percent", "value": "5"}, format="json")

    assert (listed.status_code, created.status_code) == (read, write)
    assert Voucher.objects.filter(code="ROLES").exists() is (write == 201)


def test_customers_and_anonymous_callers_get_no_vouchers(user_client):
    voucher = VoucherFactory()

    assert user_client.get("/api/vouchers/").status_code == 403
    assert user_client.get(f"/api/vouchers/{voucher.pk}/").status_code == 403
    assert APIClient().get("/api/vouchers/").status_code == 401
