"""Staff powers on the API: every staff endpoint x every kind of caller (API.md "Staff roles").

MATRIX lists each staff endpoint (and each customer endpoint that gives staff more: another
user's order, an inactive product or category) with the permission it checks and the roles that
hold it. Every row is called by every caller with fresh data and real bodies:

- an allowed call really succeeds (2xx) and, when it is a write, changes the database;
- a refused call is 403 `permission_denied` (401 anonymous) in the one error shape and changes
  nothing in the database; where staff powers only widen what a customer endpoint shows, a caller
  without them is treated as a customer: another user's object is a 404;
- superusers may do everything; inactive staff nothing (their token is refused).

`test_every_api_route_is_in_the_matrix_or_public` walks the URL resolver: a new route under /api/
must be added to MATRIX or to PUBLIC_OR_CUSTOMER, so no staff endpoint goes unchecked.
"""

import re
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from novacart.permissions import CATALOG_MANAGERS, FINANCE, ORDER_MANAGERS, ROLES, SUPPORT, Perm
from tests.conftest import auth_client
from tests.factories import CategoryFactory, ProductFactory, StaffFactory, VoucherFactory, staff_in

from .conftest import png_bytes
from .routes import enumerate_api_routes
from .test_authz_matrix import _return

# The callers. The four roles are the groups of novacart.permissions.ROLES.
CATALOG, ORDERS, FINANCE_ROLE, SUPPORT_ROLE = "catalog", "orders", "finance", "support"
GROUP_OF = {CATALOG: CATALOG_MANAGERS, ORDERS: ORDER_MANAGERS, FINANCE_ROLE: FINANCE, SUPPORT_ROLE: SUPPORT}
NO_ROLE, CUSTOMER, ANON, SUPERUSER, INACTIVE = "no_role", "customer", "anon", "superuser", "inactive"
CALLERS = (CATALOG, ORDERS, FINANCE_ROLE, SUPPORT_ROLE, NO_ROLE, CUSTOMER, ANON, SUPERUSER, INACTIVE)

ALLOWED = "allowed"  # any 2xx


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    perms: tuple[str, ...]  # what the endpoint asks for (any one of them, for reads that say so)
    allowed: frozenset[str]  # the roles that may (superusers always may)
    params: dict = field(default_factory=dict)  # path parameter -> attribute of the Data below
    body: dict | None = None  # values naming an attribute of Data are written "@attr"
    query: dict = field(default_factory=dict)
    multipart: bool = False
    # A customer endpoint where staff powers widen what one sees: without them the caller is a
    # customer and the object, someone else's or inactive, is a 404, except for the roles that
    # can see it (`seen_by`), who get a 403 for a move they may not make.
    hidden: bool = False
    seen_by: frozenset[str] = frozenset()
    anon: int = 401  # what an anonymous caller gets (a public read: the 404 a customer gets)
    any_of: bool = False  # `perms` are alternatives (view or change), not all required

    @property
    def route(self) -> tuple[str, str]:
        return (self.path, self.method)


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


CATALOG_ONLY = roles(CATALOG)
SEE_PRODUCTS = roles(CATALOG, ORDERS, SUPPORT_ROLE)
SEE_ORDERS = roles(ORDERS, FINANCE_ROLE, SUPPORT_ROLE)
PRODUCT = {"pk": "product"}
TEE = {"pk": "tee"}  # a product in two sizes
TEE_M = {"pk": "tee", "variant_id": "tee_medium"}
CATEGORY = {"slug": "empty_category.slug"}
VOUCHER = {"pk": "voucher"}
SEE_VOUCHERS = roles(CATALOG, FINANCE_ROLE, SUPPORT_ROLE)
PRODUCT_BODY = {"name": "Matrix product", "sku": "MATRIX-1", "price": "9.50", "stock": 3, "category": "@category.pk"}

MATRIX: dict[str, Row] = {
    # Catalog: Catalog managers write; whoever may see products reads the staff views of them.
    "create product": Row("POST", "/api/products/", (Perm.ADD_PRODUCT,), CATALOG_ONLY, body=PRODUCT_BODY),
    "replace product": Row(
        "PUT",
        "/api/products/<int:pk>/",
        (Perm.CHANGE_PRODUCT,),
        CATALOG_ONLY,
        params=PRODUCT,
        body={k: v for k, v in PRODUCT_BODY.items() if k != "stock"},
    ),
    "update product": Row(
        "PATCH",
        "/api/products/<int:pk>/",
        (Perm.CHANGE_PRODUCT,),
        CATALOG_ONLY,
        params=PRODUCT,
        body={"price": "21.00"},
    ),
    "deactivate product": Row(
        "DELETE", "/api/products/<int:pk>/", (Perm.DELETE_PRODUCT,), CATALOG_ONLY, params=PRODUCT
    ),
    "upload image": Row(
        "POST",
        "/api/products/<int:pk>/images/",
        (Perm.CHANGE_PRODUCT,),
        CATALOG_ONLY,
        params=PRODUCT,
        body={"image": "@upload", "alt": "Front"},
        multipart=True,
    ),
    "list stock movements": Row(
        "GET", "/api/products/<int:pk>/stock-adjustments/", (Perm.VIEW_PRODUCT,), SEE_PRODUCTS, params=PRODUCT
    ),
    "adjust stock": Row(
        "POST",
        "/api/products/<int:pk>/stock-adjustments/",
        (Perm.ADJUST_STOCK,),
        CATALOG_ONLY,
        params=PRODUCT,
        body={"delta": 5, "reason": "received"},
    ),
    "low stock": Row("GET", "/api/products/low-stock/", (Perm.VIEW_PRODUCT,), SEE_PRODUCTS),
    "list variants": Row("GET", "/api/products/<int:pk>/variants/", (Perm.VIEW_PRODUCT,), SEE_PRODUCTS, params=TEE),
    "add variant": Row(
        "POST",
        "/api/products/<int:pk>/variants/",
        (Perm.CHANGE_PRODUCT,),
        CATALOG_ONLY,
        params=TEE,
        body={"sku": "MATRIX-TEE-XL", "price": "15.00", "options": {"Size": "XL"}},
    ),
    "variant detail": Row(
        "GET", "/api/products/<int:pk>/variants/<int:variant_id>/", (Perm.VIEW_PRODUCT,), SEE_PRODUCTS, params=TEE_M
    ),
    "update variant": Row(
        "PATCH",
        "/api/products/<int:pk>/variants/<int:variant_id>/",
        (Perm.CHANGE_PRODUCT,),
        CATALOG_ONLY,
        params=TEE_M,
        body={"price": "16.00"},
    ),
    "deactivate variant": Row(
        "DELETE",
        "/api/products/<int:pk>/variants/<int:variant_id>/",
        (Perm.CHANGE_PRODUCT,),
        CATALOG_ONLY,
        params=TEE_M,
    ),
    "inactive product detail": Row(
        "GET",
        "/api/products/<int:pk>/",
        (Perm.VIEW_PRODUCT, Perm.CHANGE_PRODUCT),
        SEE_PRODUCTS,
        params={"pk": "inactive_product"},
        hidden=True,
        anon=404,
        any_of=True,
    ),
    "inactive product reviews": Row(
        "GET",
        "/api/products/<int:pk>/reviews/",
        (Perm.VIEW_PRODUCT, Perm.CHANGE_PRODUCT),
        SEE_PRODUCTS,
        params={"pk": "inactive_product"},
        hidden=True,
        anon=404,
        any_of=True,
    ),
    "create category": Row("POST", "/api/categories/", (Perm.ADD_CATEGORY,), CATALOG_ONLY, body={"name": "Matrix"}),
    "replace category": Row(
        "PUT",
        "/api/categories/<slug:slug>/",
        (Perm.CHANGE_CATEGORY,),
        CATALOG_ONLY,
        params=CATEGORY,
        body={"name": "Renamed", "slug": "@empty_category.slug"},
    ),
    "update category": Row(
        "PATCH",
        "/api/categories/<slug:slug>/",
        (Perm.CHANGE_CATEGORY,),
        CATALOG_ONLY,
        params=CATEGORY,
        body={"name": "New"},
    ),
    "delete category": Row(
        "DELETE", "/api/categories/<slug:slug>/", (Perm.DELETE_CATEGORY,), CATALOG_ONLY, params=CATEGORY
    ),
    "inactive category detail": Row(
        "GET",
        "/api/categories/<slug:slug>/",
        (Perm.VIEW_CATEGORY, Perm.CHANGE_CATEGORY),
        roles(CATALOG, SUPPORT_ROLE),
        params={"slug": "inactive_category.slug"},
        hidden=True,
        anon=404,
        any_of=True,
    ),
    # Orders: Order managers move orders; whoever may see orders sees anyone's.
    "another's order": Row(
        "GET",
        "/api/orders/<int:pk>/",
        (Perm.VIEW_ORDER, Perm.CHANGE_ORDER),
        SEE_ORDERS,
        params={"pk": "order"},
        hidden=True,
        any_of=True,
        anon=404,  # guest checkout: an order token might open it, so without one it is not found
    ),
    "cancel another's order": Row(
        "POST",
        "/api/orders/cancel/<int:pk>/",
        (Perm.CHANGE_ORDER,),
        roles(ORDERS),
        params={"pk": "order"},
        hidden=True,
        seen_by=SEE_ORDERS,
        anon=404,
    ),
    "ship an order": Row(
        "PATCH",
        "/api/orders/<int:pk>/status/",
        (Perm.CHANGE_ORDER,),
        roles(ORDERS),
        params={"pk": "paid_order"},
        body={"status": "SHIPPED", "tracking_number": "TRACK-MATRIX-1"},
    ),
    # Vouchers: Catalog managers run them; Finance and Support read them.
    "list vouchers": Row("GET", "/api/vouchers/", (Perm.VIEW_VOUCHER,), SEE_VOUCHERS),
    "create voucher": Row(
        "POST",
        "/api/vouchers/",
        (Perm.ADD_VOUCHER,),
        CATALOG_ONLY,
        body={"code": "matrix-new", "kind": "percent", "value": "10.00"},
    ),
    "voucher detail": Row("GET", "/api/vouchers/<int:pk>/", (Perm.VIEW_VOUCHER,), SEE_VOUCHERS, params=VOUCHER),
    "update voucher": Row(
        "PATCH",
        "/api/vouchers/<int:pk>/",
        (Perm.CHANGE_VOUCHER,),
        CATALOG_ONLY,
        params=VOUCHER,
        body={"value": "15.00", "usage_limit": 50},
    ),
    "delete voucher": Row("DELETE", "/api/vouchers/<int:pk>/", (Perm.DELETE_VOUCHER,), CATALOG_ONLY, params=VOUCHER),
    # Returns: Order managers run the queue; Finance refunds what came back; Support reads.
    "returns queue": Row("GET", "/api/returns/", (Perm.VIEW_ORDER,), SEE_ORDERS),
    "return detail": Row(
        "GET",
        "/api/returns/<int:pk>/",
        (Perm.VIEW_ORDER,),
        SEE_ORDERS,
        params={"pk": "requested_return"},
    ),
    "approve a return": Row(
        "PATCH",
        "/api/returns/<int:pk>/",
        (Perm.CHANGE_ORDER,),
        roles(ORDERS),
        params={"pk": "requested_return"},
        body={"status": "APPROVED"},
    ),
    "refund a return": Row(
        "POST",
        "/api/returns/<int:pk>/refund/",
        (Perm.REFUND_PAYMENT,),
        roles(FINANCE_ROLE),
        params={"pk": "received_return"},
    ),
    # Money: Finance.
    "sales report": Row(
        "GET", "/api/orders/sales-report/", (Perm.VIEW_SALES_REPORT,), roles(FINANCE_ROLE), query={"days": 7}
    ),
    "analytics": Row("GET", "/api/analytics/", (Perm.VIEW_SALES_REPORT,), roles(FINANCE_ROLE)),
    "refund": Row(
        "POST",
        "/api/payments/refund/",
        (Perm.REFUND_PAYMENT,),
        roles(FINANCE_ROLE),
        body={"order_id": "@paid_order.pk"},
    ),
}

# Every other route under /api/: public, or a customer's own things, where being staff changes
# nothing (test_authz_matrix.py decides who may call them).
PUBLIC_OR_CUSTOMER: set[tuple[str, str]] = {
    ("/api/health/", "GET"),
    ("/api/health/live/", "GET"),
    ("/api/schema/", "GET"),
    ("/api/docs/", "GET"),
    ("/api/redoc/", "GET"),
    ("/api/redoc/redoc.standalone.js", "GET"),
    ("/api/token/", "POST"),
    ("/api/token/refresh/", "POST"),
    ("/api/token/verify/", "POST"),
    ("/api/auth/register/", "POST"),
    ("/api/auth/login/", "POST"),
    ("/api/auth/logout/", "POST"),
    ("/api/auth/me/", "GET"),
    ("/api/auth/me/", "PATCH"),
    ("/api/auth/change-password/", "POST"),
    ("/api/auth/password-reset/", "POST"),
    ("/api/auth/password-reset/confirm/", "POST"),
    ("/api/auth/google/", "POST"),
    ("/api/auth/verify-email/", "POST"),
    ("/api/auth/verify-email/resend/", "POST"),
    ("/api/categories/", "GET"),
    ("/api/products/", "GET"),  # staff who may see products also list inactive ones: see below
    ("/api/products/featured/", "GET"),
    ("/api/products/<int:pk>/reviews/", "POST"),
    ("/api/products/<int:pk>/reviews/<int:review_id>/", "PATCH"),
    ("/api/products/<int:pk>/reviews/<int:review_id>/", "DELETE"),
    ("/api/products/wishlist/", "GET"),
    ("/api/products/wishlist/", "POST"),
    ("/api/products/wishlist/<int:pk>/", "DELETE"),
    ("/api/cart/", "GET"),
    ("/api/cart/add/", "POST"),
    ("/api/shipping-methods/", "GET"),
    ("/api/checkout/preview/", "POST"),
    ("/api/cart/update/<int:cart_id>/", "PATCH"),
    ("/api/cart/remove/<int:cart_id>/", "DELETE"),
    ("/api/cart/clear/", "DELETE"),
    ("/api/cart/voucher/", "POST"),
    ("/api/cart/voucher/", "DELETE"),
    ("/api/addresses/", "GET"),
    ("/api/addresses/", "POST"),
    ("/api/addresses/<int:pk>/", "GET"),
    ("/api/addresses/<int:pk>/", "PUT"),
    ("/api/addresses/<int:pk>/", "PATCH"),
    ("/api/addresses/<int:pk>/", "DELETE"),
    ("/api/addresses/<int:pk>/set-default/", "POST"),
    ("/api/orders/create/", "POST"),
    ("/api/orders/my/", "GET"),
    ("/api/orders/lookup/", "POST"),
    ("/api/orders/<int:pk>/returns/", "GET"),  # the owner's order (test_authz_matrix.py)
    ("/api/orders/<int:pk>/returns/", "POST"),
    ("/api/payments/payment-intent/", "POST"),
    ("/api/payments/checkout-session/", "POST"),
    ("/api/payments/verify/", "GET"),
    ("/api/payments/verify/", "POST"),
    ("/api/payments/initiate/", "POST"),
    ("/api/payments/dummy/confirm/", "POST"),
    ("/api/payments/webhook/", "POST"),
}


def expected(row: Row, caller: str):
    if caller == SUPERUSER or caller in row.allowed:
        return ALLOWED
    if caller == INACTIVE:
        return 401
    if caller == ANON:
        return row.anon
    if row.hidden:
        return 403 if caller in row.seen_by else 404
    return 403


# --- The callers and their data -------------------------------------------------------------------


@dataclass
class Data:
    world: object
    inactive_product: object
    inactive_category: object
    tee: object
    voucher: object
    requested_return: object
    received_return: object

    def __getattr__(self, name):
        return getattr(self.world, name)

    @property
    def tee_medium(self):
        return self.tee.variants.get(options__Size="M")

    @property
    def upload(self):
        return SimpleUploadedFile("front.png", png_bytes(), content_type="image/png")

    def resolve(self, value):
        """ "@paid_order.pk" -> that attribute; plain values as they are."""
        if not (isinstance(value, str) and value.startswith("@")):
            return value
        return self.lookup(value[1:])

    def lookup(self, dotted: str):
        obj = self
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj


@pytest.fixture
def data(world):
    return Data(
        world=world,
        inactive_product=ProductFactory(category=world.category, is_active=False),
        inactive_category=CategoryFactory(is_active=False),
        tee=ProductFactory(category=world.category, variants=[{"options": {"Size": "M"}}, {"options": {"Size": "L"}}]),
        voucher=VoucherFactory(code="MATRIX10"),
        requested_return=_return(world)["pk"],
        received_return=_return(world, status="RECEIVED")["pk"],
    )


def make_caller(name: str, world):
    if name == ANON:
        return None
    if name == CUSTOMER:
        return world.other  # a customer who owns nothing in the URLs
    if name == SUPERUSER:
        return StaffFactory(roles=(), is_superuser=True)
    if name == INACTIVE:
        return StaffFactory(is_active=False)  # in every role, but deactivated
    if name == NO_ROLE:
        return StaffFactory(roles=())
    return staff_in(GROUP_OF[name])


def client_for(user) -> APIClient:
    return APIClient() if user is None else auth_client(user)


def _url(row: Row, data: Data) -> str:
    url = row.path
    for name, attr in row.params.items():
        value = data.lookup(attr)
        url = url.replace(f"<int:{name}>", str(getattr(value, "pk", value))).replace(f"<slug:{name}>", str(value))
    assert "<" not in url, url
    return url


def call(row: Row, data: Data, client: APIClient):
    url = _url(row, data)
    if row.body is not None:
        body = {key: data.resolve(value) for key, value in row.body.items()}
        return getattr(client, row.method.lower())(url, body, format="multipart" if row.multipart else "json")
    return getattr(client, row.method.lower())(url, row.query or None)


def snapshot() -> dict:
    """Every row of every table of our apps, so a refused call can be shown to have changed nothing."""
    labels = ("users", "addresses", "products", "cart", "orders", "payments")
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for label in labels
        for model in apps.get_app_config(label).get_models()
    }


# --- The tests ------------------------------------------------------------------------------------


def test_every_api_route_is_in_the_matrix_or_public():
    routes = enumerate_api_routes()
    staff_routes = {row.route for row in MATRIX.values()}

    assert not staff_routes & PUBLIC_OR_CUSTOMER, "a route is in both lists"
    unlisted = sorted(routes - staff_routes - PUBLIC_OR_CUSTOMER)
    stale = sorted((staff_routes | PUBLIC_OR_CUSTOMER) - routes)
    assert not unlisted, (
        f"routes under /api/ nobody classified: add staff endpoints to MATRIX (with the permission they "
        f"check) and public or customer ones to PUBLIC_OR_CUSTOMER: {unlisted}"
    )
    assert not stale, f"listed routes that no longer exist: {stale}"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_the_allowed_roles_are_those_whose_group_holds_the_permission(name):
    """Double entry: the roles written in MATRIX are the roles the role table gives the permission."""
    row = MATRIX[name]

    def holds(role: str) -> bool:
        held = ROLES[GROUP_OF[role]]
        return any(p in held for p in row.perms) if row.any_of else all(p in held for p in row.perms)

    assert row.allowed == {role for role in GROUP_OF if holds(role)}


CELLS = [pytest.param(name, caller, id=f"{name} as {caller}") for name in sorted(MATRIX) for caller in CALLERS]


@pytest.mark.usefixtures("payments_on")
@pytest.mark.parametrize(("name", "caller"), CELLS)
def test_staff_endpoint_access(data, name, caller):
    row = MATRIX[name]
    client = client_for(make_caller(caller, data.world))
    want = expected(row, caller)
    before = snapshot()

    response = call(row, data, client)

    after = snapshot()
    shown = f"{row.method} {row.path} as {caller}: {response.status_code} {response.content[:400]!r}"
    if want == ALLOWED:
        assert 200 <= response.status_code < 300, shown
        if row.method != "GET":
            assert after != before, f"{shown}: an allowed write changed nothing"
        return
    assert response.status_code == want, f"{shown}, expected {want}"
    body = response.json()
    assert body["type"] == "client_error", body
    assert [set(error) for error in body["errors"]] == [{"code", "detail", "attr"}], body
    if want == 403:
        assert body["errors"][0]["code"] == "permission_denied", body
    assert after == before, f"{shown}: a refused call changed the database"


@pytest.mark.parametrize("caller", CALLERS)
def test_the_product_list_shows_inactive_products_only_to_those_who_may_see_products(data, caller):
    client = client_for(make_caller(caller, data.world))

    response = client.get("/api/products/", {"page_size": 100})

    if caller == INACTIVE:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["results"]}
    assert data.product.pk in ids
    assert (data.inactive_product.pk in ids) is (caller == SUPERUSER or caller in SEE_PRODUCTS)


def test_staff_cancelling_their_own_order_is_a_customer_cancelling(data, settings):
    """The owner cancelling their own order stays as it is, whatever their roles."""
    settings.PAYMENT_GATEWAY = "dummy"
    order = data.order
    order.user = StaffFactory(roles=())
    order.save(update_fields=["user"])

    response = client_for(order.user).post(f"/api/orders/cancel/{order.pk}/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "CANCELLED"
    change = order.status_history.get(to_status="CANCELLED")
    assert change.actor_label == "customer"


def test_the_schema_documents_the_403_of_every_staff_operation():
    """Every operation that can answer 403 says so, naming the permission it checks."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for name, row in MATRIX.items():
        if row.hidden and not row.seen_by:
            continue  # without the permission the caller is a customer: a 404, not a 403
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m.group(1) == "pk" else f"{{{m.group(1)}}}", row.path)
        responses = paths[path][row.method.lower()]["responses"]
        assert "403" in responses, name
        description = responses["403"]["description"]
        assert description.startswith("`permission_denied`"), (name, description)
        assert all(f"`{perm}`" in description for perm in row.perms), (name, description)
