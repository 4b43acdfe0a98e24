"""Hostile input: every one gets a clear 4xx in the error shape, never a 500.

Runs on SQLite and PostgreSQL (PostgreSQL refuses NUL bytes in text with an error that would be a
500 if one reached it: every text input path is tried with one).
"""

import json
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from addresses.models import Address
from products.models import Product, Review
from tests.conftest import auth_client
from tests.factories import DEFAULT_PASSWORD, ProductFactory

from .conftest import FRONTEND, assert_error_shape, error_codes, png_bytes

pytestmark = pytest.mark.usefixtures("payments_on")

HUGE_INT = 99999999999999999999  # past 64 bits
ADDRESS = {
    "full_name": "Ada Lovelace",
    "phone": "+44 20 7946 0000",
    "line1": "12 Analytical Row",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
}


def _clients(world) -> dict:
    return {
        "anon": APIClient(),
        "owner": auth_client(world.owner),
        "other": auth_client(world.other),
        "staff": auth_client(world.staff),
    }


def assert_4xx(response, status: int):
    """The one client error `status`, in the error shape."""
    assert 400 <= status < 500, status
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert_error_shape(response)


# --- Endpoints that take a JSON body: who calls them, and a valid body -----------------------------

JSON_ENDPOINTS = [
    ("anon", "post", "/api/token/", lambda w: {"email": w.owner.email, "password": DEFAULT_PASSWORD}),
    ("anon", "post", "/api/token/refresh/", lambda w: {"refresh": "x"}),
    ("anon", "post", "/api/token/verify/", lambda w: {"token": "x"}),
    ("anon", "post", "/api/auth/register/", lambda w: {"email": "new@example.com", "password": "Str0ng-pass-42!"}),
    ("anon", "post", "/api/auth/login/", lambda w: {"email": w.owner.email, "password": DEFAULT_PASSWORD}),
    ("owner", "post", "/api/auth/logout/", lambda w: {"refresh": "x"}),
    ("owner", "patch", "/api/auth/me/", lambda w: {"first_name": "A"}),
    ("owner", "post", "/api/auth/change-password/", lambda w: {"old_password": "a", "new_password": "b"}),
    ("anon", "post", "/api/auth/password-reset/", lambda w: {"email": w.owner.email}),
    ("anon", "post", "/api/auth/password-reset/confirm/", lambda w: {"uid": "x", "token": "y", "new_password": "z"}),
    ("staff", "post", "/api/categories/", lambda w: {"name": "C"}),
    ("staff", "patch", "/api/categories/{category}/", lambda w: {"name": "C"}),
    ("staff", "put", "/api/categories/{category}/", lambda w: {"name": "C"}),
    ("staff", "post", "/api/products/", lambda w: {"name": "P", "sku": "S", "price": "1.00"}),
    ("staff", "put", "/api/products/{product}/", lambda w: {"name": "P", "sku": "S", "price": "1.00"}),
    ("staff", "patch", "/api/products/{product}/", lambda w: {"name": "P"}),
    ("other", "post", "/api/products/{product}/reviews/", lambda w: {"rating": 5}),
    ("owner", "patch", "/api/products/{product}/reviews/{review}/", lambda w: {"rating": 5}),
    ("owner", "post", "/api/products/wishlist/", lambda w: {"product_id": w.product.pk}),
    ("anon", "post", "/api/cart/add/", lambda w: {"product_id": w.product.pk}),
    ("owner", "patch", "/api/cart/update/{cart_item}/", lambda w: {"quantity": 1}),
    ("anon", "post", "/api/cart/voucher/", lambda w: {"code": "SUMMER10"}),
    ("staff", "post", "/api/vouchers/", lambda w: {"code": "NEW10", "kind": "percent", "value": "10"}),
    ("owner", "post", "/api/addresses/", lambda w: dict(ADDRESS)),
    ("owner", "put", "/api/addresses/{address}/", lambda w: dict(ADDRESS)),
    ("owner", "patch", "/api/addresses/{address}/", lambda w: {"city": "Paris"}),
    ("owner", "post", "/api/orders/create/", lambda w: {"shipping_address_id": w.address.pk, "payment_method": "card"}),
    ("staff", "patch", "/api/orders/{order}/status/", lambda w: {"status": "CANCELLED"}),
    ("owner", "post", "/api/payments/payment-intent/", lambda w: {"order_id": w.order.pk}),
    ("owner", "post", "/api/payments/dummy/confirm/", lambda w: {"order_id": w.order.pk}),
    ("staff", "post", "/api/payments/refund/", lambda w: {"order_id": w.paid_order.pk}),
    (
        "owner",
        "post",
        "/api/payments/checkout-session/",
        lambda w: {"order_id": w.order.pk, "success_url": f"{FRONTEND}/ok", "cancel_url": f"{FRONTEND}/no"},
    ),
]


def _url(template: str, world) -> str:
    return template.format(
        category=world.empty_category.slug,
        product=world.product.pk,
        review=world.review.pk,
        cart_item=world.cart_item.pk,
        address=world.address.pk,
        order=world.order.pk,
    )


def _ids(endpoints):
    return [f"{method.upper()} {url}" for _, method, url, _ in endpoints]


@pytest.mark.parametrize(("role", "method", "url", "body"), JSON_ENDPOINTS, ids=_ids(JSON_ENDPOINTS))
@pytest.mark.parametrize(
    "raw",
    ["{not json", '{"a": 1,}', "\xff\xfe", '{"a": NaN}', "[]", '"a string"', "null", "42", "true"],
    ids=["broken", "trailing-comma", "not-utf8", "nan-literal", "list", "string", "null", "number", "bool"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(world, role, method, url, body, raw):
    client = _clients(world)[role]

    response = getattr(client, method)(_url(url, world), raw.encode("latin-1"), content_type="application/json")

    assert_4xx(response, 400)


# No body is read as `{}`. That is a whole request where every field is optional: a PATCH that changes
# nothing, and logout, which then has no refresh token to revoke and only clears the cookies.
EMPTY_BODY_IS_ENOUGH = {
    ("post", "/api/auth/logout/"),
    ("patch", "/api/auth/me/"),
    ("patch", "/api/categories/{category}/"),
    ("patch", "/api/products/{product}/"),
    ("patch", "/api/products/{product}/reviews/{review}/"),
    ("patch", "/api/addresses/{address}/"),
}
EMPTY_BODY_ACCEPTED = [e for e in JSON_ENDPOINTS if (e[1], e[2]) in EMPTY_BODY_IS_ENOUGH]
EMPTY_BODY_REFUSED = [e for e in JSON_ENDPOINTS if (e[1], e[2]) not in EMPTY_BODY_IS_ENOUGH]


@pytest.mark.parametrize(("role", "method", "url", "body"), EMPTY_BODY_REFUSED, ids=_ids(EMPTY_BODY_REFUSED))
def test_an_empty_body_is_a_400_where_a_field_is_required(world, role, method, url, body):
    response = getattr(_clients(world)[role], method)(_url(url, world), b"", content_type="application/json")

    assert_4xx(response, 400)


@pytest.mark.parametrize(("role", "method", "url", "body"), EMPTY_BODY_ACCEPTED, ids=_ids(EMPTY_BODY_ACCEPTED))
def test_an_empty_body_is_a_200_where_every_field_is_optional(world, role, method, url, body):
    response = getattr(_clients(world)[role], method)(_url(url, world), b"", content_type="application/json")

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("role", "method", "url", "body"), JSON_ENDPOINTS, ids=_ids(JSON_ENDPOINTS))
def test_a_json_body_over_the_upload_limit_is_a_413(world, settings, role, method, url, body):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload = {**body(world), "padding": "x" * 20_000}

    response = getattr(_clients(world)[role], method)(
        _url(url, world), json.dumps(payload), content_type="application/json"
    )

    assert_4xx(response, 413)
    assert error_codes(response) == ["payload_too_large"]


def test_a_json_body_over_the_default_limit_is_a_413_and_nothing_is_created(world, settings):
    body = {**ADDRESS, "line2": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    before = Address.objects.count()

    response = auth_client(world.owner).post("/api/addresses/", json.dumps(body), content_type="application/json")

    assert_4xx(response, 413)
    assert Address.objects.count() == before


def test_a_multipart_upload_with_a_huge_form_field_is_a_413(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    image = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")

    response = auth_client(world.staff).post(
        f"/api/products/{world.product.pk}/images/", {"image": image, "alt": "x" * 20_000}, format="multipart"
    )

    assert_4xx(response, 413)
    assert error_codes(response) == ["payload_too_large"]
    assert world.product.images.count() == 0


def test_a_multipart_image_over_the_size_limit_is_a_400(world, settings):
    settings.PRODUCT_IMAGE_MAX_BYTES = 1_000
    image = SimpleUploadedFile("big.png", png_bytes((300, 300)) + b"\0" * 2_000, content_type="image/png")

    response = auth_client(world.staff).post(
        f"/api/products/{world.product.pk}/images/", {"image": image}, format="multipart"
    )

    assert_4xx(response, 400)
    assert world.product.images.count() == 0


# --- Uploads that lie -----------------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with one tiny compressed row: a few hundred
    bytes that would decode into gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("photo.png", b"this is not an image at all", "image/png"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"garbage" * 50, "image/jpeg"),
        ("photo.gif", b"GIF89a" + b"\0" * 10, "image/gif"),
        ("script.png", b"<?php system($_GET['c']); ?>", "image/png"),
        ("page.png", b"<html><script>alert(1)</script></html>", "text/html"),
        ("empty.png", b"", "image/png"),
        ("bomb.png", _png_header_only(20_000, 20_000), "image/png"),
        ("wide.png", _png_header_only(2**31 - 1, 1), "image/png"),
    ],
    ids=["text", "jpeg-magic-garbage", "gif-truncated", "php", "html", "empty", "bomb-20000x20000", "bomb-wide"],
)
def test_an_upload_that_is_not_a_usable_image_is_a_400(world, name, content, content_type):
    upload = SimpleUploadedFile(name, content, content_type=content_type)

    response = auth_client(world.staff).post(
        f"/api/products/{world.product.pk}/images/", {"image": upload}, format="multipart"
    )

    assert_4xx(response, 400)
    assert world.product.images.count() == 0


def test_the_image_bomb_is_refused_for_its_pixel_count(world):
    upload = SimpleUploadedFile("bomb.png", _png_header_only(20_000, 20_000), content_type="image/png")

    response = auth_client(world.staff).post(
        f"/api/products/{world.product.pk}/images/", {"image": upload}, format="multipart"
    )

    assert_4xx(response, 400)
    assert error_codes(response) == ["image_too_many_pixels"]


# --- NUL bytes, control characters, unicode, long strings: every text input -------------------------

# (role, method, url, valid body, fields to poison). Bodies are valid apart from the poisoned field.
TEXT_INPUTS = [
    ("anon", "post", "/api/auth/register/", lambda w: {"email": "n@example.com", "password": "Str0ng-pass-42!"},
     ["email", "password", "first_name", "last_name", "phone"]),
    ("anon", "post", "/api/token/", lambda w: {"email": w.owner.email, "password": DEFAULT_PASSWORD},
     ["email", "password"]),
    ("anon", "post", "/api/auth/login/", lambda w: {"email": w.owner.email, "password": DEFAULT_PASSWORD},
     ["email", "password"]),
    ("anon", "post", "/api/token/refresh/", lambda w: {"refresh": "abc"}, ["refresh"]),
    ("anon", "post", "/api/token/verify/", lambda w: {"token": "abc"}, ["token"]),
    ("owner", "post", "/api/auth/logout/", lambda w: {"refresh": "abc"}, ["refresh"]),
    ("owner", "patch", "/api/auth/me/", lambda w: {}, ["first_name", "last_name", "phone"]),
    ("owner", "post", "/api/auth/change-password/",
     lambda w: {"old_password": DEFAULT_PASSWORD, "new_password": "Other-Str0ng-pass!"},
     ["old_password", "new_password"]),
    ("anon", "post", "/api/auth/password-reset/", lambda w: {"email": w.owner.email}, ["email"]),
    ("anon", "post", "/api/auth/password-reset/confirm/",
     lambda w: {"uid": "MQ", "token": "abc-def", "new_password": "Other-Str0ng-pass!"},
     ["uid", "token", "new_password"]),
    ("staff", "post", "/api/categories/", lambda w: {"name": "Cat"}, ["name", "slug", "description"]),
    ("staff", "patch", "/api/categories/{category}/", lambda w: {}, ["name", "description"]),
    ("staff", "post", "/api/products/", lambda w: {"name": "P", "sku": "SKU-NUL", "price": "1.00"},
     ["name", "sku", "description", "price"]),
    ("staff", "patch", "/api/products/{product}/", lambda w: {}, ["name", "sku", "description", "price"]),
    ("other", "post", "/api/products/{product}/reviews/", lambda w: {"rating": 5}, ["comment"]),
    ("owner", "patch", "/api/products/{product}/reviews/{review}/", lambda w: {}, ["comment"]),
    ("owner", "post", "/api/addresses/", lambda w: dict(ADDRESS),
     ["full_name", "phone", "line1", "line2", "city", "state", "postal_code", "country", "address_type"]),
    ("owner", "patch", "/api/addresses/{address}/", lambda w: {},
     ["full_name", "phone", "line1", "line2", "city", "state", "postal_code", "country", "address_type"]),
    ("owner", "post", "/api/orders/create/",
     lambda w: {"shipping_address_id": w.address.pk, "payment_method": "card"}, ["payment_method"]),
    ("staff", "patch", "/api/orders/{order}/status/", lambda w: {"status": "CANCELLED"},
     ["status", "tracking_number"]),
    ("owner", "post", "/api/payments/checkout-session/",
     lambda w: {"order_id": w.order.pk, "success_url": f"{FRONTEND}/ok", "cancel_url": f"{FRONTEND}/no"},
     ["success_url", "cancel_url"]),
]  # fmt: skip

TEXT_CASES = [(role, method, url, body, f) for role, method, url, body, fields in TEXT_INPUTS for f in fields]


@pytest.mark.parametrize(
    ("role", "method", "url", "body", "field"),
    TEXT_CASES,
    ids=[f"{m.upper()} {u} {f}" for _, m, u, _, f in TEXT_CASES],
)
def test_a_nul_byte_in_any_text_field_is_a_400(world, role, method, url, body, field):
    payload = {**body(world), field: "abc\u0000def"}

    response = getattr(_clients(world)[role], method)(_url(url, world), payload, format="json")

    assert_4xx(response, 400)


@pytest.mark.parametrize(
    ("role", "method", "url", "body", "field"),
    TEXT_CASES,
    ids=[f"{m.upper()} {u} {f}" for _, m, u, _, f in TEXT_CASES],
)
def test_a_lone_surrogate_in_any_text_field_is_a_400(world, role, method, url, body, field):
    # Valid JSON ("\ud800" escape), but not encodable as UTF-8: PostgreSQL would refuse it.
    raw = json.dumps({**body(world), field: "abc\ud800def"})

    response = getattr(_clients(world)[role], method)(_url(url, world), raw, content_type="application/json")

    assert_4xx(response, 400)


# A JWT field has no length limit of its own: a very long one is just a token that does not verify.
JWT_URLS = {"/api/token/refresh/", "/api/token/verify/", "/api/auth/logout/"}
LONG_TEXT_CASES = [case for case in TEXT_CASES if case[2] not in JWT_URLS]
LONG_TOKEN_CASES = [case for case in TEXT_CASES if case[2] in JWT_URLS]


@pytest.mark.parametrize(
    ("role", "method", "url", "body", "field"),
    LONG_TEXT_CASES,
    ids=[f"{m.upper()} {u} {f}" for _, m, u, _, f in LONG_TEXT_CASES],
)
def test_a_very_long_string_in_any_text_field_is_a_400(world, role, method, url, body, field):
    payload = {**body(world), field: "A" * 100_000}

    response = getattr(_clients(world)[role], method)(_url(url, world), payload, format="json")

    assert_4xx(response, 400)


@pytest.mark.parametrize(
    ("role", "method", "url", "body", "field"),
    LONG_TOKEN_CASES,
    ids=[f"{m.upper()} {u} {f}" for _, m, u, _, f in LONG_TOKEN_CASES],
)
def test_a_very_long_token_is_a_401(world, role, method, url, body, field):
    payload = {**body(world), field: "A" * 100_000}

    response = getattr(_clients(world)[role], method)(_url(url, world), payload, format="json")

    assert_4xx(response, 401)
    assert set(error_codes(response)) == {"token_not_valid"}


@pytest.mark.parametrize(
    "query",
    [
        "/api/products/?search=a%00b",
        "/api/products/?category=a%00b",
        "/api/products/?ordering=a%00b",
        "/api/products/?min_price=1%00",
        "/api/products/?in_stock=%00",
        "/api/orders/my/?search=a%00b",
        "/api/orders/my/?status=%00",
        "/api/payments/verify/?session_id=cs_%00",
        "/api/orders/sales-report/?days=%00",
        "/api/products/low-stock/?threshold=%00",
    ],
)
def test_a_nul_byte_in_a_query_string_is_a_400(world, query):
    client = auth_client(world.staff if "report" in query or "low-stock" in query else world.owner)

    response = client.get(query)

    assert_4xx(response, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/api/categories/a%00b/",
        "/api/products/1%00/",
        "/api/addresses/%00/",
    ],
)
def test_a_nul_byte_in_a_path_is_a_404(world, path):
    assert_4xx(auth_client(world.owner).get(path), 404)


def test_a_search_of_100k_characters_is_a_400(world):
    response = APIClient().get("/api/products/", {"search": "é" * 100_000})

    assert_4xx(response, 400)
    assert error_codes(response) == ["max_length"]


@pytest.mark.parametrize(
    "value",
    [
        "Zoë Ångström",
        "محمد عبد الله",
        "משה כהן",
        "山田 太郎",
        "🚀 Rocket 👩‍👩‍👧‍👦",
        "Ω≈ç√∫˜µ≤≥÷",
        "ｆｕｌｌｗｉｄｔｈ",
        "a\u0301\u0301\u0301",  # combining marks
    ],
)
def test_unicode_names_and_addresses_are_stored_and_returned_as_sent(world, value):
    client = auth_client(world.owner)

    response = client.post("/api/addresses/", {**ADDRESS, "full_name": value, "city": value}, format="json")

    assert response.status_code == 201, response.content
    address = Address.objects.get(pk=response.json()["id"])
    assert address.full_name == value and address.city == value
    me = client.patch("/api/auth/me/", {"first_name": value[:150]}, format="json")
    assert me.status_code == 200 and me.json()["first_name"] == value[:150]


@pytest.mark.parametrize(
    "value",
    ["Ada\u202eecalevoL", "line\nbreak", "tab\there", "bell\u0007", "esc\u001b[31m", "sep\u2028arator", "\u2066iso"],
    ids=["rtl-override", "newline", "tab", "bell", "ansi-escape", "line-separator", "bidi-isolate"],
)
def test_control_and_bidi_override_characters_in_an_address_are_a_400(world, value):
    response = auth_client(world.owner).post("/api/addresses/", {**ADDRESS, "line1": value}, format="json")

    assert_4xx(response, 400)
    assert "control_characters" in error_codes(response)


def test_emoji_in_a_review_and_a_product_name_round_trip(world):
    review = auth_client(world.other).post(
        f"/api/products/{world.product.pk}/reviews/", {"rating": 5, "comment": "Love it 😍🔥"}, format="json"
    )
    product = auth_client(world.staff).patch(f"/api/products/{world.product.pk}/", {"name": "Mug ☕ مج"}, format="json")

    assert review.status_code == 201, review.content
    assert Review.objects.get(pk=review.json()["id"]).comment == "Love it 😍🔥"
    assert product.status_code == 200, product.content
    assert Product.objects.get(pk=world.product.pk).name == "Mug ☕ مج"


# --- Numbers: ids and quantities past 64 bits, negative, fractional --------------------------------


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("anon", "get", f"/api/products/{HUGE_INT}/"),
        ("staff", "patch", f"/api/products/{HUGE_INT}/"),
        ("staff", "delete", f"/api/products/{HUGE_INT}/"),
        ("anon", "get", f"/api/products/{HUGE_INT}/reviews/"),
        ("owner", "post", f"/api/products/{HUGE_INT}/reviews/"),
        ("owner", "patch", f"/api/products/1/reviews/{HUGE_INT}/"),
        ("owner", "delete", f"/api/products/wishlist/{HUGE_INT}/"),
        ("owner", "patch", f"/api/cart/update/{HUGE_INT}/"),
        ("owner", "delete", f"/api/cart/remove/{HUGE_INT}/"),
        ("owner", "get", f"/api/addresses/{HUGE_INT}/"),
        ("owner", "delete", f"/api/addresses/{HUGE_INT}/"),
        ("owner", "post", f"/api/addresses/{HUGE_INT}/set-default/"),
        ("owner", "get", f"/api/orders/{HUGE_INT}/"),
        ("owner", "post", f"/api/orders/cancel/{HUGE_INT}/"),
        ("staff", "patch", f"/api/orders/{HUGE_INT}/status/"),
        ("staff", "post", f"/api/products/{HUGE_INT}/images/"),
        ("owner", "get", f"/api/products/{2**63}/"),
        ("owner", "get", f"/api/orders/{2**63}/"),
        ("owner", "get", "/api/orders/-1/"),
    ],
)
def test_an_id_past_64_bits_in_a_path_is_a_404(world, role, method, path):
    body = {"quantity": 1, "rating": 3, "status": "CANCELLED", "name": "x"}
    kwargs = {} if method in ("get", "delete") else {"data": body, "format": "json"}

    response = getattr(_clients(world)[role], method)(path, **kwargs)

    assert_4xx(response, 404)


BAD_IDS = [HUGE_INT, 2**63, -(2**63) - 1, -1, 0, "1e400", "NaN", "abc", [], {}]


ID_FIELDS = [
    ("anon", "/api/cart/add/", "product_id", {"quantity": 1}),
    ("owner", "/api/products/wishlist/", "product_id", {}),
    ("owner", "/api/orders/create/", "shipping_address_id", {"payment_method": "card"}),
    ("owner", "/api/payments/payment-intent/", "order_id", {}),
    ("owner", "/api/payments/dummy/confirm/", "order_id", {}),
    ("staff", "/api/payments/refund/", "order_id", {}),
    ("staff", "/api/products/", "category", {"name": "P", "sku": "SKU-X", "price": "1.00"}),
    ("staff", "/api/categories/", "parent", {"name": "C"}),
]
# Checkout looks a positive shipping address id up whatever its size: past 64 bits it is no address of
# the caller's, a 404 (test below). Every other bad id, anywhere, is refused as invalid: a 400.
ADDRESS_IDS_LOOKED_UP = [HUGE_INT, 2**63]
BAD_ID_CASES = [
    (role, url, field, body, value)
    for role, url, field, body in ID_FIELDS
    for value in BAD_IDS
    if not (url == "/api/orders/create/" and value in ADDRESS_IDS_LOOKED_UP)
]


@pytest.mark.parametrize(
    ("role", "url", "field", "body", "value"),
    BAD_ID_CASES,
    ids=[f"{url} {field}={value!r}" for _, url, field, _, value in BAD_ID_CASES],
)
def test_a_bad_id_in_a_body_is_a_400(world, role, url, field, body, value):
    response = _clients(world)[role].post(url, {**body, field: value}, format="json")

    assert_4xx(response, 400)


@pytest.mark.parametrize("value", ADDRESS_IDS_LOOKED_UP)
def test_a_shipping_address_id_past_64_bits_is_a_404_at_checkout(world, value):
    body = {"payment_method": "card", "shipping_address_id": value}

    response = auth_client(world.owner).post("/api/orders/create/", body, format="json")

    assert_4xx(response, 404)
    assert error_codes(response) == ["address_not_found"]


@pytest.mark.parametrize(
    "quantity", [HUGE_INT, 2**63, 2**31, 101, -1, -(2**63), 1.5, "2.5", "1e3", "NaN", "", None, True]
)
def test_a_bad_quantity_is_a_400_and_the_cart_is_unchanged(world, quantity):
    client = auth_client(world.owner)

    added = client.post("/api/cart/add/", {"product_id": world.product.pk, "quantity": quantity}, format="json")
    updated = client.patch(f"/api/cart/update/{world.cart_item.pk}/", {"quantity": quantity}, format="json")

    assert_4xx(added, 400)
    assert_4xx(updated, 400)
    world.cart_item.refresh_from_db()
    assert world.cart_item.quantity == 1


@pytest.mark.parametrize("rating", [0, 6, -1, HUGE_INT, 4.5, "five", None])
def test_a_bad_rating_is_a_400(world, rating):
    response = auth_client(world.other).post(
        f"/api/products/{world.product.pk}/reviews/", {"rating": rating}, format="json"
    )

    assert_4xx(response, 400)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *[("price", v) for v in ["-1.00", "0", "1e100", "NaN", "Infinity", "1.001", "12345678901234.00", "abc"]],
        *[("price", v) for v in [HUGE_INT, None, [], {}]],
        *[("stock", v) for v in [-1, HUGE_INT, 2**31 * 1000, 1.5, "NaN", "abc", None, []]],
    ],
)
def test_a_bad_price_or_stock_is_a_400_and_the_product_is_unchanged(world, field, value):
    response = auth_client(world.staff).patch(f"/api/products/{world.product.pk}/", {field: value}, format="json")

    assert_4xx(response, 400)
    world.product.refresh_from_db()
    assert (str(world.product.price), world.product.stock) == ("19.99", 10)


# --- Pagination and other query parameters ---------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/products/", "/api/products/featured/", "/api/orders/my/", "/api/addresses/"])
@pytest.mark.parametrize("page", ["0", "-1", "abc", str(HUGE_INT), "1.5", "999999"])
def test_a_page_that_does_not_exist_is_a_404(world, url, page):
    response = auth_client(world.owner).get(url, {"page": page})

    assert_4xx(response, 404)


@pytest.mark.parametrize("page_size", ["100000", str(HUGE_INT), "-5", "0", "abc"])
def test_page_size_is_capped_at_100_and_nonsense_falls_back_to_the_default(db, page_size):
    ProductFactory.create_batch(105)

    response = APIClient().get("/api/products/", {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.json()["results"]) == (100 if page_size in ("100000", str(HUGE_INT)) else 20)


@pytest.mark.parametrize(
    "query",
    [
        {"min_price": "abc"},
        {"max_price": "1e999"},
        {"min_price": "NaN"},
        {"ordering": "password"},
        {"ordering": "-user__password"},
        {"in_stock": "maybe"},
        {"category": "no-such-category"},
    ],
)
def test_a_bad_catalog_filter_is_a_400(db, query):
    assert_4xx(APIClient().get("/api/products/", query), 400)


@pytest.mark.parametrize("days", ["0", "-1", "366", str(HUGE_INT), "abc", "1.5"])
def test_a_bad_report_window_is_a_400(world, days):
    assert_4xx(auth_client(world.staff).get("/api/orders/sales-report/", {"days": days}), 400)


# --- Headers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["", " ", "has spaces", "x" * 256, "ключ", "tab\tkey", "nul\x00key", "semi;colon\r\n"],
    ids=["empty", "space", "spaces", "too-long", "non-ascii", "tab", "nul", "crlf"],
)
@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/orders/create/", lambda w: {"shipping_address_id": w.address.pk, "payment_method": "card"}),
        ("/api/payments/payment-intent/", lambda w: {"order_id": w.order.pk}),
    ],
    ids=["orders-create", "payment-intent"],
)
def test_a_malformed_idempotency_key_is_a_400_and_nothing_is_created(world, key, url, body):
    from orders.models import Order
    from payments.models import Payment

    before = (Order.objects.count(), Payment.objects.count())

    response = auth_client(world.owner).post(url, body(world), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert_4xx(response, 400)
    assert error_codes(response) == ["invalid_idempotency_key"]
    assert (Order.objects.count(), Payment.objects.count()) == before


@pytest.mark.parametrize(
    "token",
    ["", "x", "not a token", "a" * 10_000, "ключ", "nul\x00token", "' OR 1=1 --", "../../etc/passwd", "%00"],
    ids=["empty", "short", "spaces", "huge", "non-ascii", "nul", "sql", "path", "pct-nul"],
)
def test_a_malformed_cart_token_means_no_cart(world, token):
    client = APIClient()

    read = client.get("/api/cart/", HTTP_X_CART_TOKEN=token)
    added = client.post("/api/cart/add/", {"product_id": world.product.pk}, format="json", HTTP_X_CART_TOKEN=token)
    cleared = client.delete("/api/cart/clear/", HTTP_X_CART_TOKEN=token)
    removed = client.delete(f"/api/cart/remove/{world.cart_item.pk}/", HTTP_X_CART_TOKEN=token)
    login = client.post(
        "/api/auth/login/",
        {"email": world.owner.email, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_X_CART_TOKEN=token,
    )

    assert read.status_code == 200 and read.json()["id"] is None
    assert added.status_code == 201 and added.json()["cart_token"] not in (token, None)
    assert cleared.status_code == 204
    assert_4xx(removed, 404)
    assert login.status_code == 200
    world.cart_item.refresh_from_db()  # the owner's line is untouched


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer a.b.c", "Bearer " + "a" * 10_000, "Basic dXNlcjpwYXNz", "Bearer x\x00y", "Token abc"],
)
def test_a_malformed_authorization_header_is_a_401(world, header):
    response = APIClient().get("/api/auth/me/", HTTP_AUTHORIZATION=header)

    assert_4xx(response, 401)


def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_403(db):
    client = APIClient(enforce_csrf_checks=True)

    response = client.post("/api/no-such-thing/", {"a": 1}, format="json")

    assert_4xx(response, 404)


def test_unsupported_content_type_is_a_415(world):
    response = auth_client(world.owner).post("/api/addresses/", b"<address/>", content_type="application/xml")

    assert_4xx(response, 415)


@pytest.mark.parametrize(("url", "field", "body"), [
    ("/api/products/", "category", {"name": "P", "sku": "SKU-FRAC", "price": "1.00"}),
    ("/api/categories/", "parent", {"name": "Fractional"}),
])  # fmt: skip
def test_a_fractional_id_in_a_body_is_a_400(world, url, field, body):
    response = auth_client(world.staff).post(url, {**body, field: world.category.pk + 0.5}, format="json")

    assert_4xx(response, 400)
