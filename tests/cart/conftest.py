import pytest

from tests.factories import ProductFactory


@pytest.fixture
def product(db):
    return ProductFactory(stock=10)


_OMIT = object()


def add(client, product_id, quantity=_OMIT, token=None):
    body = {"product_id": product_id}
    if quantity is not _OMIT:
        body["quantity"] = quantity
    headers = {"HTTP_X_CART_TOKEN": token} if token else {}
    return client.post("/api/cart/add/", body, format="json", **headers)


def errors(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]
