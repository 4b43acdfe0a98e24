"""Helpers shared by the catalog tests."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count, Max, Min, Q, Sum
from PIL import Image

from products.models import Product

LIST_URL = "/api/products/"


def detail_url(product_id) -> str:
    return f"/api/products/{product_id}/"


def image_bytes(fmt: str = "PNG", size=(8, 8), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def result_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def error_codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def admin_product_form(product, *, image=None, alt_text: str = "x", **fields) -> dict:
    """The POST body of a product's admin change form: its fields (overridden by `fields`), the image
    inline with one new `image` when given, and the variants and read-only stock-movement inlines'
    empty formsets (no variant row posted: none changes)."""
    data = {
        "name": product.name,
        "sku": product.sku,
        "description": product.description,
        "price": str(product.price),
        "category": str(product.category_id) if product.category_id else "",
        "is_active": "on",
        "images-TOTAL_FORMS": "1" if image is not None else "0",
        "images-INITIAL_FORMS": "0",
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
        "stock_movements-TOTAL_FORMS": "0",
        "stock_movements-INITIAL_FORMS": "0",
        **fields,
    }
    if image is not None:
        data.update({"images-0-image": image, "images-0-alt_text": alt_text, "images-0-position": "0"})
    return data


def assert_derived_fields_match_the_variants():
    """Every product's price, price_max, stock and variant_count are those of its active variants."""
    active = Q(variants__is_active=True)
    rows = Product.objects.annotate(
        low=Min("variants__price", filter=active),
        high=Max("variants__price", filter=active),
        total=Sum("variants__stock", filter=active),
        count=Count("variants", filter=active),
    ).values_list("sku", "price", "price_max", "stock", "variant_count", "low", "high", "total", "count")
    for sku, price, price_max, stock, variant_count, low, high, total, count in rows:
        assert (price, price_max, stock, variant_count) == (low, high, total or 0, count), sku
