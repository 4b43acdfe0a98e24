"""The OpenAPI document as doc viewers and generated clients read it (issue 14, items 10 and 11):
summaries, realistic examples, the answers that come from outside the views, who needs a token,
nullable references, declared limits, response headers and required response fields.

The document is generated once for the module (a few seconds, hence `slow`)."""

import re
from decimal import Decimal, InvalidOperation

import pytest
from django.conf import settings
from openapi_schema_validator import OAS30Validator
from rest_framework.test import APIClient

from orders.models import ShippingMethod, ShippingZone, TaxRate
from products.filters import MAX_SEARCH_LENGTH
from tests.factories import AddressFactory, CategoryFactory, ProductFactory, VoucherFactory
from tests.users.test_auth import _cookie_login

pytestmark = pytest.mark.slow

METHODS = ("get", "post", "put", "patch", "delete")
# Whoever calls these has no token yet, or needs none (Stripe, a load balancer, a shop visitor).
PUBLIC = {
    ("post", "/api/auth/register/"),
    ("post", "/api/auth/login/"),
    ("post", "/api/token/"),
    ("post", "/api/token/refresh/"),
    ("post", "/api/token/verify/"),
    ("post", "/api/auth/password-reset/"),
    ("post", "/api/auth/password-reset/confirm/"),
    ("post", "/api/auth/google/"),
    ("post", "/api/auth/verify-email/"),
    ("get", "/api/health/"),
    ("get", "/api/health/live/"),
    ("get", "/api/products/"),
    ("get", "/api/products/{id}/"),
    ("get", "/api/products/featured/"),
    ("get", "/api/products/{id}/reviews/"),
    ("get", "/api/categories/"),
    ("get", "/api/categories/{slug}/"),
    ("post", "/api/payments/webhook/"),
    # Anonymous carts (X-Cart-Token).
    ("get", "/api/cart/"),
    ("post", "/api/cart/add/"),
    ("patch", "/api/cart/update/{cart_id}/"),
    ("delete", "/api/cart/remove/{cart_id}/"),
    ("delete", "/api/cart/clear/"),
    # Checkout pricing of the requester's own cart.
    ("get", "/api/shipping-methods/"),
    ("post", "/api/checkout/preview/"),
    ("post", "/api/cart/voucher/"),
    ("delete", "/api/cart/voucher/"),
}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def resolve(schema, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def walk(node, key=None):
    """(key, value) of every dict entry in a JSON document, depth first."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield name, value
            yield from walk(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value, key)


def is_money(value) -> bool:
    """A non-negative decimal string with two places: what the API sends for money."""
    if not isinstance(value, str) or not re.fullmatch(r"\d+\.\d{2}", value):
        return False
    try:
        return Decimal(value) >= 0
    except InvalidOperation:
        return False


def validator(schema, component: str) -> OAS30Validator:
    return OAS30Validator({"$ref": f"#/components/schemas/{component}", "components": schema["components"]})


# --- item 10: summaries and examples -------------------------------------------------------------


def test_every_operation_has_a_human_summary(schema):
    missing = []
    for method, path, operation in operations(schema):
        summary = operation.get("summary", "")
        # ReDoc's menu shows the summary, else the operationId (`orders_create`).
        if not summary or summary == operation["operationId"] or re.fullmatch(r"[a-z0-9_]+", summary):
            missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_every_money_field_has_a_realistic_example_and_no_minus_sign(schema):
    decimals = [
        (name, prop)
        for name, component in schema["components"]["schemas"].items()
        for prop in component.get("properties", {}).values()
        if prop.get("format") == "decimal"
    ]
    assert len(decimals) > 20, "the order, cart and product amounts"
    for name, prop in decimals:
        assert is_money(prop.get("example")), (name, prop)
        pattern = prop.get("pattern")
        if pattern:  # what a sampler builds from the pattern must be money too
            assert re.search(pattern, prop["example"]), (name, prop)
            assert not re.search(pattern, "-"), (name, prop)
            assert not re.search(pattern, "-4"), (name, prop)


def _in_provider_minor_units(example: dict) -> bool:
    """Razorpay's own objects (a webhook event) and the Razorpay Checkout start of payments/initiate/
    (API.md: `"amount"` in paise) carry integer minor units, as the provider takes them."""
    return example.get("entity") == "event" or example.get("gateway") == "razorpay"


def test_every_example_value_in_the_document_shows_money_as_money(schema):
    money_names = {
        prop_name
        for component in schema["components"]["schemas"].values()
        for prop_name, prop in component.get("properties", {}).items()
        if prop.get("format") == "decimal"
    }
    checked = 0
    for key, value in walk(schema):
        if key in ("example", "value") and isinstance(value, dict) and not _in_provider_minor_units(value):
            for inner_key, inner_value in walk(value):
                if inner_key in money_names and not isinstance(inner_value, dict | list):
                    assert is_money(inner_value), (inner_key, inner_value)
                    checked += 1
    for component in schema["components"]["schemas"].values():
        for prop_name, prop in component.get("properties", {}).items():
            if prop_name in money_names and "example" in prop:
                assert is_money(prop["example"]), (prop_name, prop)
                checked += 1
    assert checked > 20


def test_bounded_integers_have_an_example_inside_their_bounds(schema):
    cart_add = schema["components"]["schemas"]["CartAddRequest"]["properties"]
    assert cart_add["product_id"]["example"] == 1  # not 9223372036854776000
    assert cart_add["quantity"]["example"] == 1
    for name, component in schema["components"]["schemas"].items():
        for prop_name, prop in component.get("properties", {}).items():
            if prop.get("type") != "integer" or "example" not in prop:
                continue
            assert prop.get("minimum", prop["example"]) <= prop["example"] <= prop.get("maximum", prop["example"])
            assert abs(prop["example"]) < 2**31, (name, prop_name)


def test_pagination_examples_point_at_the_list_they_describe(schema):
    paginated = {name: c for name, c in schema["components"]["schemas"].items() if name.startswith("Paginated")}
    assert paginated
    for name, component in paginated.items():
        props = component["properties"]
        assert set(component["required"]) == {"count", "next", "previous", "results"}, name
        for link in ("next", "previous"):
            assert props[link]["example"].startswith("https://shop.example.com/api/"), (name, props[link])
            assert "accounts" not in props[link]["example"]
    products = schema["components"]["schemas"]["PaginatedProductListList"]["properties"]
    assert products["next"]["example"] == "https://shop.example.com/api/products/?page=3"


def test_every_error_answer_has_an_example_in_the_error_shape(schema):
    checked = 0
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            if int(status) < 400 or content is None:
                continue
            examples = content.get("examples")
            assert examples, (method, path, status)
            for example in examples.values():
                body = example["value"]
                assert set(body) == {"type", "errors"}, (method, path, status, body)
                expected = {"server_error"} if int(status) >= 500 else {"client_error", "validation_error"}
                assert body["type"] in expected, (method, path, status, body)
                assert body["errors"] and all(set(e) == {"code", "detail", "attr"} for e in body["errors"])
                checked += 1
    assert checked > 300


# --- item 11: what a generated client needs ------------------------------------------------------


def test_request_bodies_are_json_only_but_the_image_upload(schema):
    media = {
        (method, path): set(operation["requestBody"]["content"])
        for method, path, operation in operations(schema)
        if "requestBody" in operation
    }
    assert media.pop(("post", "/api/products/{id}/images/")) == {"multipart/form-data"}
    assert {frozenset(types) for types in media.values()} == {frozenset({"application/json"})}


def test_cookie_authenticated_writes_document_the_csrf_403(schema):
    writes = [
        (method, path, operation)
        for method, path, operation in operations(schema)
        if method != "get" and {"jwtAuth": []} in operation["security"]
    ]
    assert len(writes) > 25
    for method, path, operation in writes:
        response = operation["responses"].get("403")
        assert response, (method, path)
        assert "CSRF" in response["description"], (method, path)
        example = response["content"]["application/json"]["examples"]["CsrfFailed"]["value"]
        assert example["errors"][0]["code"] == "permission_denied"
    refresh = schema["paths"]["/api/token/refresh/"]["post"]["responses"]["403"]
    assert "CSRF" in refresh["description"]


@pytest.mark.django_db
def test_the_documented_csrf_answer_is_what_the_server_sends(schema, user):
    documented = schema["paths"]["/api/cart/add/"]["post"]["responses"]["403"]
    example = documented["content"]["application/json"]["examples"]["CsrfFailed"]["value"]
    client = APIClient(enforce_csrf_checks=True)
    _cookie_login(client, user)

    response = client.post("/api/cart/add/", {"product_id": ProductFactory().pk}, format="json")

    assert response.status_code == 403
    assert response.json() == example
    validator(schema, "ErrorResponse").validate(response.json())


def test_every_write_documents_the_body_limits(schema):
    for method, path, operation in operations(schema):
        if method in ("post", "put", "patch"):
            responses = operation["responses"]
            for status, code in (("413", "payload_too_large"), ("411", "length_required"), ("415", None)):
                assert status in responses, (method, path, status)
                if code:
                    [example] = responses[status]["content"]["application/json"]["examples"].values()
                    assert example["value"]["errors"][0]["code"] == code


@pytest.mark.django_db
def test_the_documented_413_is_what_the_server_sends(schema, user_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    documented = schema["paths"]["/api/cart/add/"]["post"]["responses"]["413"]

    response = user_client.post("/api/cart/add/", {"product_id": 1, "pad": "x" * 200}, format="json")

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "payload_too_large"
    assert documented["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    validator(schema, "ErrorResponse").validate(response.json())


def test_public_endpoints_need_no_token(schema):
    found = set()
    for method, path, operation in operations(schema):
        security = operation["security"]  # always explicit
        if (method, path) in PUBLIC:
            assert security == [] or {} in security, (method, path, security)
            found.add((method, path))
        else:
            assert security == [{"jwtAuth": []}], (method, path, security)
    assert found == PUBLIC


def test_the_cookie_refresh_with_an_empty_body_is_expressible(schema):
    body = schema["paths"]["/api/token/refresh/"]["post"]["requestBody"]
    request = resolve(schema, body["content"]["application/json"]["schema"])

    assert "refresh" in request["properties"]
    assert "refresh" not in request.get("required", [])
    assert body.get("required") is not True


@pytest.mark.django_db
def test_a_product_without_a_category_validates_strictly(schema, api_client):
    ProductFactory(category=None)
    ProductFactory(category=CategoryFactory())

    body = api_client.get("/api/products/").json()

    assert {product["category"] is None for product in body["results"]} == {True, False}
    validator(schema, "PaginatedProductListList").validate(body)
    validator(schema, "ProductDetail").validate(api_client.get(f"/api/products/{body['results'][0]['id']}/").json())
    # No `allOf` + `nullable` left anywhere: a 3.0 validator does not read that as nullable.
    for key, value in walk(schema["components"]):
        if isinstance(value, dict) and value.get("nullable") and "allOf" in value:
            pytest.fail(f"{key}: {value}")


def _parameter(schema, method, path, name):
    [parameter] = [p for p in schema["paths"][path][method]["parameters"] if p["name"] == name]
    return parameter["schema"]


def test_limits_are_declared_as_they_are_enforced(schema):
    assert _parameter(schema, "get", "/api/products/", "search")["maxLength"] == MAX_SEARCH_LENGTH
    assert _parameter(schema, "get", "/api/orders/my/", "search")["maxLength"] == 100
    for bound in ("min_price", "max_price"):
        assert _parameter(schema, "get", "/api/products/", bound)["minimum"] == 0
    for method, path, operation in operations(schema):
        names = {p["name"] for p in operation.get("parameters", [])}
        if "page_size" in names:
            assert _parameter(schema, method, path, "page_size") | {"minimum": 1, "maximum": 100} == _parameter(
                schema, method, path, "page_size"
            )
            assert _parameter(schema, method, path, "page")["minimum"] == 1
    components = schema["components"]["schemas"]
    price = components["ProductWriteRequest"]["properties"]["price"]
    assert not re.search(price["pattern"], "-1.00") and re.search(price["pattern"], "0.01")
    add = components["CartAddRequest"]["properties"]["quantity"]
    update = components["PatchedCartUpdateRequest"]["properties"]["quantity"]
    assert (add["minimum"], add["maximum"]) == (1, settings.CART_MAX_QUANTITY)
    assert (update["minimum"], update["maximum"]) == (0, settings.CART_MAX_QUANTITY)


@pytest.mark.django_db
def test_the_declared_quantity_maximum_is_the_one_enforced(user_client):
    product = ProductFactory(stock=settings.CART_MAX_QUANTITY + 10)

    too_many = user_client.post(
        "/api/cart/add/", {"product_id": product.pk, "quantity": settings.CART_MAX_QUANTITY + 1}, format="json"
    )
    most = user_client.post(
        "/api/cart/add/", {"product_id": product.pk, "quantity": settings.CART_MAX_QUANTITY}, format="json"
    )

    assert too_many.status_code == 400
    assert [(e["code"], e["attr"]) for e in too_many.json()["errors"]] == [("max_value", "quantity")]
    assert most.status_code == 201


def test_idempotent_operations_document_the_replayed_header(schema):
    for path, status in (("/api/orders/create/", "201"), ("/api/payments/payment-intent/", "200")):
        operation = schema["paths"][path]["post"]
        assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}
        header = operation["responses"][status]["headers"]["Idempotent-Replayed"]
        assert header["schema"] == {"type": "string", "enum": ["true"]}


# Response fields that some answers leave out, by design (`absent_from_some_answers`): only a guest's
# order placed is answered with its token.
ABSENT_FROM_SOME_ANSWERS = {"OrderPlaced": {"order_token"}}


def test_always_present_response_fields_are_required(schema):
    checked = 0
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request") or "properties" not in component:
            continue
        expected = set(component["properties"]) - ABSENT_FROM_SOME_ANSWERS.get(name, set())
        assert set(component.get("required", [])) == expected, name
        checked += 1
    assert checked > 30
    assert {"rating_avg", "stock", "is_active"} <= set(schema["components"]["schemas"]["ProductList"]["required"])


# --- Checkout pricing, orders, vouchers and the reports: realistic examples (issue 17) ------------

# (method, path, status, direction) of every answer (and body) carrying pricing fields.
PRICING_EXAMPLES = [
    ("post", "/api/checkout/preview/", "200", "response"),
    ("post", "/api/orders/create/", "201", "response"),
    ("get", "/api/orders/{id}/", "200", "response"),
    ("get", "/api/orders/my/", "200", "response"),
    ("post", "/api/orders/cancel/{id}/", "200", "response"),
    ("patch", "/api/orders/{id}/status/", "200", "response"),
    ("get", "/api/shipping-methods/", "200", "response"),
    ("get", "/api/vouchers/", "200", "response"),
    ("post", "/api/vouchers/", "201", "response"),
    ("post", "/api/vouchers/", None, "request"),
    ("get", "/api/vouchers/{id}/", "200", "response"),
    ("patch", "/api/vouchers/{id}/", "200", "response"),
    ("patch", "/api/vouchers/{id}/", None, "request"),
    ("get", "/api/orders/sales-report/", "200", "response"),
    ("get", "/api/analytics/", "200", "response"),
]


def _content(schema, method, path, status, direction) -> dict:
    operation = schema["paths"][path][method]
    if direction == "request":
        return operation["requestBody"]["content"]["application/json"]
    return operation["responses"][status]["content"]["application/json"]


def _assert_every_field_shown(schema, node: dict, value, where: str, *, request: bool) -> None:
    """Every property of an object schema is in the example (a response always has them all; a
    request example may leave optional ones out, never name one that does not exist), down the tree."""
    node = resolve(schema, node)
    if value is None:
        return
    if "oneOf" in node:  # a nullable reference
        node = resolve(schema, node["oneOf"][0])
    if node.get("type") == "array":
        # A new or cancelled order has no refunds: the shipped order's example shows one.
        empty_by_nature = where.endswith(".refunds")
        assert value or empty_by_nature or "properties" not in resolve(schema, node["items"]), (
            f"{where}: an empty list shows no fields"
        )
        for item in value:
            _assert_every_field_shown(schema, node["items"], item, f"{where}[]", request=request)
    elif "properties" in node:
        shown, declared = set(value), set(node["properties"])
        assert shown <= declared, f"{where}: {shown - declared} are not fields"
        if not request:  # a response shows every field it always has (`required`)
            always = set(node.get("required", declared))
            assert shown >= always, f"{where}: {always - shown} not shown"
        for name, item in value.items():
            _assert_every_field_shown(schema, node["properties"][name], item, f"{where}.{name}", request=request)


def test_pricing_answers_show_every_field_in_an_example_that_validates(schema):
    for method, path, status, direction in PRICING_EXAMPLES:
        content = _content(schema, method, path, status, direction)
        examples = content.get("examples")
        assert examples, (method, path, direction)
        body_schema = {**content["schema"], "components": schema["components"]}
        for name, example in examples.items():
            where = f"{method.upper()} {path} {direction} {name}"
            OAS30Validator(body_schema).validate(example["value"])
            _assert_every_field_shown(
                schema, content["schema"], example["value"], where, request=direction == "request"
            )


def _example(schema, method, path, status="200") -> dict:
    [example] = _content(schema, method, path, status, "response")["examples"].values()
    return example["value"]


def test_the_pricing_examples_add_up(schema):
    D = Decimal
    preview = _example(schema, "post", "/api/checkout/preview/")
    order = _example(schema, "get", "/api/orders/{id}/")
    for priced in (preview, order):
        lines = priced["lines"] if "lines" in priced else priced["items"]
        assert sum(D(line["unit_price"]) * line["quantity"] for line in lines) == D(priced["subtotal"])
        assert D(priced["subtotal"]) - D(priced["discount_total"]) + D(priced["shipping_total"]) + D(
            priced["tax_total"]
        ) == D(priced["total"])
        assert sum(D(line["discount"]) for line in lines) == D(priced["discount_total"])
        assert sum(D(tax["amount"]) for tax in priced["tax_lines"]) == D(priced["tax_total"])
    report = _example(schema, "get", "/api/orders/sales-report/")
    assert len(report["daily"]) == report["days"]
    for key in ("gross", "refunds", "revenue", "tax", "shipping_total", "discounts"):
        assert sum(D(day[key]) for day in report["daily"]) == D(report["totals"][key]), key
    for row in (*report["daily"], report["totals"]):
        assert D(row["gross"]) - D(row["refunds"]) == D(row["revenue"])
        average = D(row["gross"]) / row["orders"] if row["orders"] else D(0)
        assert abs(average - D(row["average_order_value"])) <= D("0.005")
    dashboard = _example(schema, "get", "/api/analytics/")
    assert sum(dashboard["orders_by_status"].values()) == dashboard["orders_total"]
    assert dashboard["orders_by_status"]["PAID"] + dashboard["orders_by_status"]["REFUNDED"] == dashboard["orders_paid"]
    assert D(dashboard["gross"]) - D(dashboard["refunds"]) == D(dashboard["revenue"])


@pytest.mark.django_db
def test_the_checkout_examples_are_what_the_server_answers_for_that_cart(schema, user, user_client):
    """The preview and the order documented are a real cart's: two mugs at 12.50 and a towel at 4.99,
    10% off with TENOFF, Royal Mail at 3.95, VAT 20% on top."""
    preview_example = _example(schema, "post", "/api/checkout/preview/")
    order_example = _example(schema, "get", "/api/orders/{id}/")
    zone = ShippingZone.objects.create(name="UK", countries=["GB"])
    post = ShippingMethod.objects.create(zone=zone, name="Royal Mail", price=Decimal("3.95"))
    TaxRate.objects.create(country="GB", name="VAT 20%", rate=Decimal("0.20"))
    VoucherFactory(code="TENOFF", value=Decimal("10"))
    mug = ProductFactory(name="Mug", sku="MUG-BLUE", price=Decimal("12.50"), stock=10)
    towel = ProductFactory(name="Tea Towel", sku="TOWEL-1", price=Decimal("4.99"), stock=10)
    for product, quantity in ((mug, 2), (towel, 1)):
        user_client.post("/api/cart/add/", {"product_id": product.pk, "quantity": quantity}, format="json")
    assert user_client.post("/api/cart/voucher/", {"code": "TENOFF"}, format="json").status_code == 200
    address = AddressFactory(user=user, country="GB", state="")
    where = {"shipping_address_id": address.pk, "shipping_method_id": post.pk}

    preview = user_client.post("/api/checkout/preview/", where, format="json").json()
    order = user_client.post("/api/orders/create/", {**where, "payment_method": "card"}, format="json").json()

    def priced(body, lines_key, line_fields):
        return {
            **{key: body[key] for key in ("subtotal", "discount_total", "shipping_total", "tax_total", "total")},
            **{key: body[key] for key in ("currency", "prices_include_tax", "tax_lines")},
            "shipping_method": body["shipping_method"]["name"],
            "lines": [{key: line[key] for key in line_fields} for line in body[lines_key]],
        }

    line_fields = ("quantity", "unit_price", "discount", "tax", "line_total")
    assert priced(preview, "lines", line_fields) == priced(preview_example, "lines", line_fields)
    assert preview["voucher"] == preview_example["voucher"] == "TENOFF"
    order_line_fields = (*line_fields, "name", "sku")
    assert priced(order, "items", order_line_fields) == priced(order_example, "items", order_line_fields)
    assert order["voucher_code"] == order_example["voucher_code"] == "TENOFF"
