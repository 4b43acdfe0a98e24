"""A Python client generated from the live /api/schema/ with openapi-python-client drives a whole
journey against a live server, and openapi-core checks every answer (status, headers, body)
against the same schema: the schema is one a client generator can really use (issue 14, item 11).

register -> add to cart -> address -> order (Idempotency-Key, then the same request again: the same
order, `Idempotent-Replayed: true`) -> payment intent -> dummy payment confirm -> order detail (PAID).
"""

import importlib
import json
import pkgutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.response.exceptions import InvalidData
from werkzeug.datastructures import Headers, ImmutableMultiDict

from orders.models import Order, OrderStatus
from tests.factories import ProductFactory
from tests.payments.helpers import WEBHOOK_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "novacart_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# No post hooks: the generator would run ruff on the output, which says nothing about the schema.
CONFIG = f"post_hooks: []\nproject_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n"


class _Request:
    """An httpx request as openapi-core reads one (its Request protocol)."""

    def __init__(self, request: httpx.Request):
        url = urlsplit(str(request.url))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(httpx.QueryParams(url.query).multi_items()),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.content_type = response.headers.get("content-type", "")
        self.data = response.content or None


def _generate(schema_file: Path, tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "client" / PACKAGE
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            f"--path={schema_file}",
            f"--output-path={out}",
            "--meta=none",
            f"--config={config}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    return out.parent


def _import_everything(root: Path):
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(PACKAGE)
        modules = [
            importlib.import_module(info.name) for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")
        ]
    finally:
        sys.path.remove(str(root))
    return package, {module.__name__.removeprefix(f"{PACKAGE}."): module for module in modules}


@pytest.fixture
def dummy_gateway(settings):
    settings.PAYMENT_GATEWAY = "dummy"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


def test_a_generated_client_drives_the_whole_journey(live_server, tmp_path, dummy_gateway):
    schema = httpx.get(f"{live_server.url}/api/schema/?format=json", timeout=30).raise_for_status().json()
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(schema))
    package, m = _import_everything(_generate(schema_file, tmp_path))
    assert len(m) > 150  # every endpoint module and model imported
    product = ProductFactory(price="12.50", stock=5, category=None)

    exchanges: list[httpx.Response] = []

    def record(response: httpx.Response) -> None:
        response.read()
        exchanges.append(response)

    options = {"base_url": live_server.url, "raise_on_unexpected_status": True}
    hooks = {"httpx_args": {"event_hooks": {"response": [record]}}}
    anonymous = package.Client(**options, **hooks)

    registered = m["api.auth.auth_register_create"].sync_detailed(
        client=anonymous,
        body=m["models.register_request"].RegisterRequest(
            email=f"{uuid.uuid4().hex[:8]}@example.com", password="A-long-journey-9", first_name="Ada"
        ),
    )
    assert registered.status_code == 201, registered.content
    user = package.AuthenticatedClient(**options, **hooks, token=registered.parsed.access)

    added = m["api.cart.cart_add"].sync_detailed(
        client=user, body=m["models.cart_add_request"].CartAddRequest(product_id=product.pk, quantity=2)
    )
    assert added.status_code == 201, added.content
    assert added.parsed.subtotal == "25.00"
    assert added.parsed.items[0].product.id == product.pk

    address = m["api.addresses.addresses_create"].sync_detailed(
        client=user,
        body=m["models.address_request"].AddressRequest(
            full_name="Ada Lovelace",
            phone="+1 555 0100",
            line1="1 Market Street",
            city="San Francisco",
            postal_code="94105",
            country="US",
        ),
    )
    assert address.status_code == 201, address.content

    order_body = m["models.order_create_request"].OrderCreateRequest(
        shipping_address_id=address.parsed.id, payment_method=m["models.payment_method_enum"].PaymentMethodEnum.CARD
    )
    create = m["api.orders.orders_create"]
    first = create.sync_detailed(client=user, body=order_body, idempotency_key="journey-order-1")
    again = create.sync_detailed(client=user, body=order_body, idempotency_key="journey-order-1")
    assert first.status_code == again.status_code == 201, first.content
    assert again.parsed.id == first.parsed.id
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Order.objects.count() == 1
    order_id = first.parsed.id
    assert first.parsed.total == "25.00"

    intent = m["api.payments.payments_payment_intent"].sync_detailed(
        client=user, body=m["models.order_id_request"].OrderIdRequest(order_id=order_id), idempotency_key="journey-pi"
    )
    assert intent.status_code == 200, intent.content
    assert intent.parsed.amount == "25.00"
    confirmed = m["api.payments.payments_dummy_confirm"].sync_detailed(
        client=user, body=m["models.order_id_request"].OrderIdRequest(order_id=order_id)
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.parsed.order_status == OrderStatus.PAID

    detail = m["api.orders.orders_retrieve"].sync_detailed(client=user, id=order_id)
    assert detail.status_code == 200, detail.content
    assert detail.parsed.status == m["models.order_status_enum"].OrderStatusEnum.PAID
    assert [item.quantity for item in detail.parsed.items] == [2]

    # Every answer, as the schema describes it.
    openapi = OpenAPI.from_dict(schema)
    assert len(exchanges) == 8
    for response in exchanges:
        openapi.validate_response(_Request(response.request), _Response(response))
    # The check can fail: the order detail with an undocumented status is refused.
    tampered = _Response(exchanges[-1])
    tampered.data = json.dumps({**json.loads(tampered.data), "status": "LOST"}).encode()
    with pytest.raises(InvalidData):
        openapi.validate_response(_Request(exchanges[-1].request), tampered)
