"""Who may call what: every route under /api/, every method, four callers.

The routes come from Django's URL resolver, not from this file: a route that is not in MATRIX
fails `test_every_api_route_is_in_the_matrix`, so nobody adds an endpoint without deciding who
may call it. Each cell makes a real request with a valid body against fresh data and asserts the
status. Callers:

- anon: no credentials;
- owner: the customer who owns the objects in the URL and body (see conftest.world);
- other: another customer, using the owner's ids (another user's object is a 404, never a 403);
- staff: a staff member who owns nothing;
- guest: no credentials but the `X-Order-Token` of a guest order of their own (API.md "Guest
  checkout"): for everything else exactly as anonymous, so each row's guest status is its anon
  status unless it says otherwise (`test_a_guest_token_opens_its_own_order` checks their order).

OWASP API Security Top 10 (2023): API1 broken object-level authorisation (other -> 404),
API3 broken object-property-level authorisation (see test_mass_assignment.py too),
API5 broken function-level authorisation (customers on staff endpoints -> 403).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from orders.models import Voucher
from tests.conftest import auth_client
from tests.factories import DEFAULT_PASSWORD, ProductFactory, VoucherFactory
from users.services import tokens_for_user
from users.tokens import make_email_verification_token

from .conftest import FRONTEND, World, png_bytes, signed_event
from .routes import enumerate_api_routes

ROLES = ("anon", "owner", "other", "staff", "guest")


# --- The table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """The one expected status per role, and how to call."""

    expected: dict
    params: Callable[[World], dict] = field(default=lambda w: {})
    body: Callable[[World, str], dict | None] = field(default=lambda w, role: None)
    query: Callable[[World], dict] = field(default=lambda w: {})
    multipart: bool = False
    headers: Callable[[World], dict] = field(default=lambda w: {})


def r(anon, owner, other, staff, guest=None) -> dict:
    return dict(zip(ROLES, (anon, owner, other, staff, anon if guest is None else guest), strict=True))


PUBLIC = r(200, 200, 200, 200)
CUSTOMER = r(401, 200, 200, 200)
STAFF_READ = r(401, 403, 403, 200)

_product = lambda w: {"pk": w.product.pk}  # noqa: E731


def _tee_variant(w) -> dict:
    """A new product in two sizes and its first variant: deactivating that one leaves the other."""
    tee = ProductFactory(variants=[{"options": {"Size": "M"}}, {"options": {"Size": "L"}}])
    return {"pk": tee.pk, "variant_id": tee.variants.order_by("position").first().pk}


_address = lambda w: {"pk": w.address.pk}  # noqa: E731
_voucher = lambda w: {"pk": VoucherFactory().pk}  # noqa: E731


def _apply_voucher_body(w, role):
    """A whole-cart voucher typed in lower case: the owner's cart (a line) takes it; the others have no
    cart, so nothing a voucher could apply to (400 `voucher_not_applicable`)."""
    voucher = Voucher.objects.filter(code="MATRIX10").first() or VoucherFactory(code="MATRIX10")
    return {"code": voucher.code.lower()}


def _voucher_body(w, role):
    return {"code": f"MATRIX-{role}", "kind": "fixed", "value": "5.00", "usage_limit": 100}


_order = lambda w: {"pk": w.order.pk}  # noqa: E731


def _delivered(w):
    """A card order of the owner's, delivered yesterday and paid through the development gateway: what
    a customer may return and finance may refund (one per test; a cell's params and body share it)."""
    if getattr(w, "delivered", None) is None:
        from datetime import timedelta

        from django.utils import timezone

        from orders.models import OrderStatus
        from payments.models import Payment, PaymentStatus
        from tests.factories import OrderFactory, OrderItemFactory, PaymentFactory

        now = timezone.now()
        order = OrderFactory(
            user=w.owner,
            status=OrderStatus.DELIVERED,
            paid_at=now - timedelta(days=2),
            delivered_at=now - timedelta(days=1),
        )
        OrderItemFactory(order=order, product=w.product, quantity=2, line_total=order.total)
        PaymentFactory(
            order=order,
            provider=Payment.Provider.DUMMY,
            status=PaymentStatus.SUCCEEDED,
            amount_minor=round(order.total * 100),
            succeeded_at=now,
        )
        w.delivered = order
    return w.delivered


def _return(w, status="REQUESTED") -> dict:
    from orders.models import OrderReturn, OrderReturnLine

    order = _delivered(w)
    order_return = OrderReturn.objects.create(order=order, status=status)
    OrderReturnLine.objects.create(order_return=order_return, order_item=order.items.get(), quantity=1)
    return {"pk": order_return.pk}


def _return_body(w, role) -> dict:
    return {"lines": [{"order_item_id": _delivered(w).items.get().pk, "quantity": 1}], "reason": "Too big"}


def _address_body(w, role):
    return {
        "full_name": "Ada Lovelace",
        "phone": "+44 20 7946 0000",
        "line1": "12 Analytical Row",
        "line2": "",
        "city": "London",
        "state": "",
        "postal_code": "N1 9GU",
        "country": "GB",
        "address_type": "OFFICE",
    }


def _product_body(w, role):
    return {
        "name": f"Matrix product {role}",
        "sku": f"MATRIX-{role}",
        "description": "Made by the authorisation matrix.",
        "price": "9.50",
        "stock": 3,
        "category": w.category.pk,
    }


def _without(body: dict, key: str) -> dict:
    return {k: v for k, v in body.items() if k != key}


def _reset_body(w, role):
    return {
        "uid": urlsafe_base64_encode(force_bytes(w.owner.pk)),
        "token": default_token_generator.make_token(w.owner),
        "new_password": "Brand-new-Passw0rd!",
    }


def _verify_email_body(w, role):
    # The owner has not verified yet (the factory's customers have): the link is good once.
    type(w.owner).objects.filter(pk=w.owner.pk).update(email_verified=False)
    w.owner.refresh_from_db()
    return {"uid": urlsafe_base64_encode(force_bytes(w.owner.pk)), "token": make_email_verification_token(w.owner)}


MATRIX: dict[tuple[str, str], Cell] = {
    # Health and docs: public.
    ("/api/health/", "GET"): Cell(PUBLIC),
    ("/api/health/live/", "GET"): Cell(PUBLIC),
    ("/api/schema/", "GET"): Cell(PUBLIC),
    ("/api/docs/", "GET"): Cell(PUBLIC),
    ("/api/redoc/", "GET"): Cell(PUBLIC),
    ("/api/redoc/redoc.standalone.js", "GET"): Cell(PUBLIC),
    # Authentication: anyone; the body's credentials decide.
    ("/api/token/", "POST"): Cell(PUBLIC, body=lambda w, role: {"email": w.owner.email, "password": DEFAULT_PASSWORD}),
    ("/api/token/refresh/", "POST"): Cell(
        PUBLIC, body=lambda w, role: {"refresh": str(RefreshToken.for_user(w.owner))}
    ),
    ("/api/token/verify/", "POST"): Cell(PUBLIC, body=lambda w, role: {"token": tokens_for_user(w.owner)["access"]}),
    ("/api/auth/register/", "POST"): Cell(
        r(201, 201, 201, 201),
        body=lambda w, role: {"email": f"new-{role}@example.com", "password": "Another-Str0ng-pass!"},
    ),
    ("/api/auth/login/", "POST"): Cell(
        PUBLIC, body=lambda w, role: {"email": w.owner.email, "password": DEFAULT_PASSWORD}
    ),
    # Logging out the owner's refresh token: only the owner may (someone else's token is a 401).
    ("/api/auth/logout/", "POST"): Cell(
        r(401, 200, 401, 401), body=lambda w, role: {"refresh": str(RefreshToken.for_user(w.owner))}
    ),
    ("/api/auth/me/", "GET"): Cell(CUSTOMER),
    ("/api/auth/me/", "PATCH"): Cell(CUSTOMER, body=lambda w, role: {"first_name": "Renamed"}),
    ("/api/auth/change-password/", "POST"): Cell(
        CUSTOMER, body=lambda w, role: {"old_password": DEFAULT_PASSWORD, "new_password": "Changed-Passw0rd!"}
    ),
    ("/api/auth/password-reset/", "POST"): Cell(r(202, 202, 202, 202), body=lambda w, role: {"email": w.owner.email}),
    ("/api/auth/password-reset/confirm/", "POST"): Cell(PUBLIC, body=_reset_body),
    # Anyone may try; a credential is only good with Google's certificates, which the cells do not
    # serve (tests/users/test_google_sign_in.py signs in for real), so the body is refused as empty.
    ("/api/auth/google/", "POST"): Cell(r(400, 400, 400, 400), body=lambda w, role: {"credential": ""}),
    ("/api/auth/verify-email/", "POST"): Cell(PUBLIC, body=_verify_email_body),
    ("/api/auth/verify-email/resend/", "POST"): Cell(r(401, 202, 202, 202)),
    # Catalog: reads are public, writes are staff only.
    ("/api/categories/", "GET"): Cell(PUBLIC),
    ("/api/categories/", "POST"): Cell(r(401, 403, 403, 201), body=lambda w, role: {"name": "Matrix category"}),
    ("/api/categories/<slug:slug>/", "GET"): Cell(PUBLIC, params=lambda w: {"slug": w.empty_category.slug}),
    ("/api/categories/<slug:slug>/", "PUT"): Cell(
        r(401, 403, 403, 200),
        params=lambda w: {"slug": w.empty_category.slug},
        body=lambda w, role: {"name": "Renamed", "slug": w.empty_category.slug},
    ),
    ("/api/categories/<slug:slug>/", "PATCH"): Cell(
        r(401, 403, 403, 200), params=lambda w: {"slug": w.empty_category.slug}, body=lambda w, role: {"name": "New"}
    ),
    ("/api/categories/<slug:slug>/", "DELETE"): Cell(
        r(401, 403, 403, 204), params=lambda w: {"slug": w.empty_category.slug}
    ),
    ("/api/products/", "GET"): Cell(PUBLIC),
    ("/api/products/", "POST"): Cell(r(401, 403, 403, 201), body=_product_body),
    ("/api/products/featured/", "GET"): Cell(PUBLIC),
    ("/api/products/low-stock/", "GET"): Cell(STAFF_READ),
    ("/api/products/<int:pk>/", "GET"): Cell(PUBLIC, params=_product),
    ("/api/products/<int:pk>/", "PUT"): Cell(
        r(401, 403, 403, 200), params=_product, body=lambda w, role: _without(_product_body(w, role), "stock")
    ),
    ("/api/products/<int:pk>/", "PATCH"): Cell(
        r(401, 403, 403, 200), params=_product, body=lambda w, role: {"price": "21.00"}
    ),
    ("/api/products/<int:pk>/", "DELETE"): Cell(r(401, 403, 403, 204), params=_product),
    ("/api/products/<int:pk>/stock-adjustments/", "GET"): Cell(STAFF_READ, params=_product),
    ("/api/products/<int:pk>/stock-adjustments/", "POST"): Cell(
        r(401, 403, 403, 201), params=_product, body=lambda w, role: {"delta": 5, "reason": "received"}
    ),
    ("/api/products/<int:pk>/variants/", "GET"): Cell(STAFF_READ, params=_product),
    ("/api/products/<int:pk>/variants/", "POST"): Cell(
        r(401, 403, 403, 201),
        params=lambda w: {"pk": _tee_variant(w)["pk"]},
        body=lambda w, role: {"sku": f"MATRIX-XL-{role}", "price": "15.00", "options": {"Size": "XL"}},
    ),
    ("/api/products/<int:pk>/variants/<int:variant_id>/", "GET"): Cell(STAFF_READ, params=_tee_variant),
    ("/api/products/<int:pk>/variants/<int:variant_id>/", "PATCH"): Cell(
        r(401, 403, 403, 200), params=_tee_variant, body=lambda w, role: {"price": "16.00"}
    ),
    ("/api/products/<int:pk>/variants/<int:variant_id>/", "DELETE"): Cell(r(401, 403, 403, 204), params=_tee_variant),
    ("/api/products/<int:pk>/images/", "POST"): Cell(
        r(401, 403, 403, 201),
        params=_product,
        body=lambda w, role: {"image": _upload(), "alt": "Front"},
        multipart=True,
    ),
    # Reviews: anyone reads; a user writes one per product (the owner already has one); only the
    # author edits or deletes it, staff included.
    ("/api/products/<int:pk>/reviews/", "GET"): Cell(PUBLIC, params=_product),
    ("/api/products/<int:pk>/reviews/", "POST"): Cell(
        r(401, 400, 201, 201), params=_product, body=lambda w, role: {"rating": 5, "comment": "Lovely."}
    ),
    ("/api/products/<int:pk>/reviews/<int:review_id>/", "PATCH"): Cell(
        r(401, 200, 404, 404),
        params=lambda w: {"pk": w.product.pk, "review_id": w.review.pk},
        body=lambda w, role: {"rating": 2},
    ),
    ("/api/products/<int:pk>/reviews/<int:review_id>/", "DELETE"): Cell(
        r(401, 204, 404, 404), params=lambda w: {"pk": w.product.pk, "review_id": w.review.pk}
    ),
    # Wishlist: the user's own; adding what is already there is a 200.
    ("/api/products/wishlist/", "GET"): Cell(CUSTOMER),
    ("/api/products/wishlist/", "POST"): Cell(r(401, 200, 201, 201), body=lambda w, role: {"product_id": w.product.pk}),
    ("/api/products/wishlist/<int:pk>/", "DELETE"): Cell(
        r(401, 204, 404, 404), params=lambda w: {"pk": w.wishlist_item.pk}
    ),
    # Cart: anyone has a cart (anonymous ones by X-Cart-Token); a line is its cart's owner's only.
    ("/api/cart/", "GET"): Cell(PUBLIC),
    ("/api/cart/add/", "POST"): Cell(
        r(201, 200, 201, 201), body=lambda w, role: {"product_id": w.product.pk, "quantity": 1}
    ),
    ("/api/cart/update/<int:cart_id>/", "PATCH"): Cell(
        r(404, 200, 404, 404), params=lambda w: {"cart_id": w.cart_item.pk}, body=lambda w, role: {"quantity": 2}
    ),
    ("/api/cart/remove/<int:cart_id>/", "DELETE"): Cell(
        r(404, 204, 404, 404), params=lambda w: {"cart_id": w.cart_item.pk}
    ),
    ("/api/cart/clear/", "DELETE"): Cell(r(204, 204, 204, 204)),
    # Checkout pricing: anyone prices their own cart; an address is its owner's only.
    ("/api/shipping-methods/", "GET"): Cell(PUBLIC, query=lambda w: {"country": "US"}),
    ("/api/checkout/preview/", "POST"): Cell(
        r(404, 200, 404, 404), body=lambda w, role: {"shipping_address_id": w.address.pk}
    ),
    ("/api/cart/voucher/", "POST"): Cell(r(400, 200, 400, 400), body=_apply_voucher_body),
    ("/api/cart/voucher/", "DELETE"): Cell(r(200, 200, 200, 200)),
    # Vouchers: staff only (the matrix's staff member holds every role).
    ("/api/vouchers/", "GET"): Cell(STAFF_READ),
    ("/api/vouchers/", "POST"): Cell(r(401, 403, 403, 201), body=_voucher_body),
    ("/api/vouchers/<int:pk>/", "GET"): Cell(STAFF_READ, params=_voucher),
    ("/api/vouchers/<int:pk>/", "PATCH"): Cell(
        r(401, 403, 403, 200), params=_voucher, body=lambda w, role: {"value": "15.00"}
    ),
    ("/api/vouchers/<int:pk>/", "DELETE"): Cell(r(401, 403, 403, 204), params=_voucher),
    # Addresses: the user's own, staff included (staff manage orders, not address books).
    ("/api/addresses/", "GET"): Cell(CUSTOMER),
    ("/api/addresses/", "POST"): Cell(r(401, 201, 201, 201), body=_address_body),
    ("/api/addresses/<int:pk>/", "GET"): Cell(r(401, 200, 404, 404), params=_address),
    ("/api/addresses/<int:pk>/", "PUT"): Cell(r(401, 200, 404, 404), params=_address, body=_address_body),
    ("/api/addresses/<int:pk>/", "PATCH"): Cell(
        r(401, 200, 404, 404), params=_address, body=lambda w, role: {"city": "Paris", "country": "FR"}
    ),
    ("/api/addresses/<int:pk>/", "DELETE"): Cell(r(401, 204, 404, 404), params=_address),
    ("/api/addresses/<int:pk>/set-default/", "POST"): Cell(r(401, 200, 404, 404), params=_address),
    # Orders: the owner's (staff see and cancel anyone's); status moves, reports: staff only.
    ("/api/orders/create/", "POST"): Cell(
        r(401, 201, 404, 404),
        body=lambda w, role: {"shipping_address_id": w.address.pk, "payment_method": "card"},
    ),
    ("/api/orders/my/", "GET"): Cell(CUSTOMER),
    # With guest checkout on, an order token might open it: without the right one, 404 (API.md).
    ("/api/orders/<int:pk>/", "GET"): Cell(r(404, 200, 404, 200), params=_order),
    ("/api/orders/cancel/<int:pk>/", "POST"): Cell(r(404, 200, 404, 200), params=_order),
    ("/api/orders/lookup/", "POST"): Cell(
        r(202, 202, 202, 202), body=lambda w, role: {"number": w.order.number, "email": w.owner.email}
    ),
    ("/api/orders/<int:pk>/status/", "PATCH"): Cell(
        r(401, 403, 403, 200), params=_order, body=lambda w, role: {"status": "CANCELLED"}
    ),
    # Returns: the customer asks for their own delivered order's units; staff run the queue.
    ("/api/orders/<int:pk>/returns/", "GET"): Cell(r(401, 200, 404, 200), params=lambda w: {"pk": _delivered(w).pk}),
    ("/api/orders/<int:pk>/returns/", "POST"): Cell(
        r(401, 201, 404, 404), params=lambda w: {"pk": _delivered(w).pk}, body=_return_body
    ),
    ("/api/returns/", "GET"): Cell(STAFF_READ),
    ("/api/returns/<int:pk>/", "GET"): Cell(STAFF_READ, params=_return),
    ("/api/returns/<int:pk>/", "PATCH"): Cell(
        r(401, 403, 403, 200), params=_return, body=lambda w, role: {"status": "APPROVED"}
    ),
    ("/api/returns/<int:pk>/refund/", "POST"): Cell(
        r(401, 403, 403, 200), params=lambda w: _return(w, status="RECEIVED")
    ),
    ("/api/orders/sales-report/", "GET"): Cell(STAFF_READ, query=lambda w: {"days": 7}),
    ("/api/analytics/", "GET"): Cell(STAFF_READ),
    # Payments: the order's owner pays; staff refund; Stripe's webhook is trusted by its signature.
    ("/api/payments/payment-intent/", "POST"): Cell(
        r(404, 200, 404, 404), body=lambda w, role: {"order_id": w.order.pk}
    ),
    ("/api/payments/checkout-session/", "POST"): Cell(
        r(404, 200, 404, 404),
        body=lambda w, role: {
            "order_id": w.order.pk,
            "success_url": f"{FRONTEND}/paid?session={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{FRONTEND}/cart",
        },
    ),
    ("/api/payments/verify/", "GET"): Cell(
        r(404, 200, 404, 404), query=lambda w: {"session_id": w.checkout_payment.provider_checkout_session_id}
    ),
    ("/api/payments/initiate/", "POST"): Cell(r(404, 200, 404, 404), body=lambda w, role: {"order_id": w.order.pk}),
    # Razorpay Checkout's signed answer. This matrix runs the development gateway, which has no signed
    # checkout: a 404 for every signed-in caller. With Razorpay on, the owner's is a 200 and another
    # customer's a 404 (tests/payments/test_razorpay.py, test_verify_of_another_users_payment_is_404).
    ("/api/payments/verify/", "POST"): Cell(
        r(404, 404, 404, 404),
        body=lambda w, role: {
            "razorpay_order_id": "order_Q1w2E3r4T5y6U7",
            "razorpay_payment_id": "pay_Q1w9ZxCvBn8M7L",
            "razorpay_signature": "0" * 64,
        },
    ),
    ("/api/payments/dummy/confirm/", "POST"): Cell(
        r(404, 200, 404, 404), body=lambda w, role: {"order_id": w.order.pk}
    ),
    ("/api/payments/refund/", "POST"): Cell(r(401, 403, 403, 200), body=lambda w, role: {"order_id": w.paid_order.pk}),
    ("/api/payments/webhook/", "POST"): Cell(PUBLIC),  # signed in _call; a Bearer token changes nothing
}


def _upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("front.png", png_bytes(), content_type="image/png")


def _client(world: World, role: str) -> APIClient:
    if role == "anon":
        return APIClient()
    if role == "guest":
        client = APIClient()
        client.credentials(HTTP_X_ORDER_TOKEN=world.guest_token)
        return client
    return auth_client({"owner": world.owner, "other": world.other, "staff": world.staff}[role])


def _url(path: str, params: dict) -> str:
    def fill(match: re.Match) -> str:
        return str(params[match.group(1)])

    url = re.sub(r"<(?:\w+:)?(\w+)>", fill, path)
    assert "<" not in url, url
    return url


def _call(world: World, role: str, path: str, method: str, cell: Cell):
    client = _client(world, role)
    url = _url(path, cell.params(world))
    if path == "/api/payments/webhook/":
        payload, signature = signed_event()
        return client.post(url, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    kwargs = {}
    body = cell.body(world, role)
    if body is not None:
        kwargs["data"] = body
        kwargs["format"] = "multipart" if cell.multipart else "json"
    elif cell.query(world):
        kwargs["data"] = cell.query(world)
    return getattr(client, method.lower())(url, **kwargs)


# --- The tests ------------------------------------------------------------------------------------


def test_every_api_route_is_in_the_matrix():
    enumerated = enumerate_api_routes()

    missing = sorted(enumerated - MATRIX.keys())
    stale = sorted(MATRIX.keys() - enumerated)
    assert not missing, f"routes nobody decided the access rules for (add them to MATRIX): {missing}"
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"


def test_the_matrix_covers_every_role_of_every_route():
    for key, cell in MATRIX.items():
        assert set(cell.expected) == set(ROLES), key


# Generating the OpenAPI document takes about a second each time: those cells are slow.
CELLS = [
    pytest.param(
        path, method, role, id=f"{method} {path} {role}", marks=pytest.mark.slow if path == "/api/schema/" else ()
    )
    for (path, method) in sorted(MATRIX)
    for role in ROLES
]


@pytest.mark.usefixtures("payments_on")
@pytest.mark.parametrize(("path", "method", "role"), CELLS)
def test_access(world, path, method, role):
    cell = MATRIX[(path, method)]
    expected = cell.expected[role]

    response = _call(world, role, path, method, cell)

    assert response.status_code == expected, (
        f"{method} {path} as {role}: {response.status_code}, expected {expected}: {response.content[:500]!r}"
    )
    if response.status_code >= 400:
        body = response.json()
        assert body["type"] in ("validation_error", "client_error"), body
        assert all(set(e) == {"code", "detail", "attr"} for e in body["errors"]), body


GUEST_ROUTES = [
    ("GET", "/api/orders/<int:pk>/", 200, lambda w: None),
    ("POST", "/api/payments/payment-intent/", 200, lambda w: {"order_id": w.guest_order.pk}),
    ("POST", "/api/payments/initiate/", 200, lambda w: {"order_id": w.guest_order.pk}),
    ("POST", "/api/payments/dummy/confirm/", 200, lambda w: {"order_id": w.guest_order.pk}),
    ("POST", "/api/orders/cancel/<int:pk>/", 200, lambda w: None),
    ("GET", "/api/orders/my/", 401, lambda w: None),
    ("GET", "/api/orders/<int:pk>/returns/", 401, lambda w: None),
]


@pytest.mark.usefixtures("payments_on")
@pytest.mark.parametrize(
    ("method", "path", "expected", "body"), GUEST_ROUTES, ids=[f"{m} {p}" for m, p, *_ in GUEST_ROUTES]
)
def test_a_guest_token_opens_its_own_order(world, method, path, expected, body):
    """The guest role on its own order: what X-Order-Token opens, and what still needs an account."""
    client = _client(world, "guest")
    url = _url(path, {"pk": world.guest_order.pk})
    data = body(world)
    response = (
        getattr(client, method.lower())(url, data, format="json") if data else getattr(client, method.lower())(url)
    )

    assert response.status_code == expected, response.content[:500]
    without = APIClient()
    refused = (
        getattr(without, method.lower())(url, data, format="json") if data else getattr(without, method.lower())(url)
    )
    assert refused.status_code in (401, 404), refused.content[:300]
