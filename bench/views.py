"""The floor reference: the same product pages as the public API, answered as cheaply as Django allows.

These views are mounted only by `novacart.settings.bench` (through bench/urls.py), never by the
application. They run under the same gunicorn, the same middleware and the same database as the
API, and send the same SQL a well-indexed list page needs (categories for the sub-tree, the count,
the page with its category joined, the page's images; the detail also its active variants), but read
rows with `.values()` and answer
with a plain `JsonResponse`: no DRF request/response cycle, no authentication or throttling, no
django-filter, no serializers. The API's throughput divided by the floor's is the share of the
achievable speed that the API reaches; the rest is what our framework layers cost.
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db.models import Q
from django.http import JsonResponse

from products.models import Category, Product, ProductImage, ProductVariant
from products.selectors import PRODUCT_ROW_FIELDS

PAGE_SIZE = 20
# The same columns as the API's lean read path: the floor answers the same page with the same query.
_LIST_FIELDS = PRODUCT_ROW_FIELDS
_ORDERINGS = {"price": ("price", "id"), "-price": ("-price", "-id"), "name": ("name", "id")}


def _error(status: int, code: str, detail: str, attr=None) -> JsonResponse:
    body = {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": attr}]}
    return JsonResponse(body, status=status)


def _descendant_ids(slug: str) -> list[int] | None:
    """The active category with this slug and every active category below it (one query)."""
    rows = list(Category.objects.values_list("id", "slug", "parent_id", "is_active"))
    children: dict[int | None, list[int]] = {}
    active = {}
    root = None
    for cat_id, cat_slug, parent_id, is_active in rows:
        children.setdefault(parent_id, []).append(cat_id)
        active[cat_id] = is_active
        if cat_slug == slug:
            root = cat_id
    if root is None or not active[root]:
        return None
    ids, stack = [], [root]
    while stack:
        current = stack.pop()
        if active[current]:
            ids.append(current)
            stack.extend(children.get(current, ()))
    return ids


def _images_by_product(product_ids: list[int]) -> dict[int, list[dict]]:
    images: dict[int, list[dict]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return images
    rows = (
        ProductImage.objects.filter(product_id__in=product_ids)
        .order_by("position", "id")
        .values_list("id", "product_id", "image", "external_url", "alt_text", "position")
    )
    for image_id, product_id, image, external_url, alt, position in rows:
        url = (settings.MEDIA_URL + image) if image else external_url
        images[product_id].append({"id": image_id, "url": url, "alt": alt, "position": position})
    return images


def _variants(product_id: int) -> list[dict]:
    """The active variants of a product, in position order: one query, as the API's detail."""
    rows = (
        ProductVariant.objects.filter(product_id=product_id, is_active=True)
        .order_by("position", "id")
        .values_list("id", "sku", "name", "price", "stock", "options", "image_id")
    )
    return [
        {
            "id": variant_id,
            "sku": sku,
            "name": name,
            "price": format(price, ".2f"),
            "stock": stock,
            "in_stock": stock > 0,
            "options": options,
            "image_id": image_id,
        }
        for variant_id, sku, name, price, stock, options, image_id in rows
    ]


def _product_dict(row: dict, images: list[dict], description: str | None = None) -> dict:
    data = {
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "sku": row["sku"],
        "price": format(row["price"], ".2f"),
        "price_max": format(row["price_max"], ".2f"),
        "currency": settings.STORE_CURRENCY,
        "stock": row["stock"],
        "in_stock": row["stock"] > 0,
        "category": (
            {"id": row["category_id"], "name": row["category__name"], "slug": row["category__slug"]}
            if row["category_id"] is not None
            else None
        ),
        "images": images,
        "rating_avg": format(row["rating_avg"], ".2f"),
        "rating_count": row["rating_count"],
        "is_featured": row["is_featured"],
        "is_active": row["is_active"],
        "created_at": row["created_at"].isoformat().replace("+00:00", "Z"),
        "variant_count": row["variant_count"],
    }
    if description is not None:
        data["description"] = description
    return data


def _with_variants(data: dict, option_names: list[str], variants: list[dict]) -> dict:
    """The detail's `options` (each option's values in the variants' order) and `variants`."""
    urls = {image["id"]: image["url"] for image in data["images"]}
    values: dict[str, list[str]] = {name: [] for name in option_names}
    for variant in variants:
        variant["image"] = urls.get(variant.pop("image_id"))
        for name, value in variant["options"].items():
            if name in values and value not in values[name]:
                values[name].append(value)
    data["options"] = [{"name": name, "values": values[name]} for name in option_names]
    data["variants"] = variants
    return data


def _decimal_param(request, name: str):
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return False


def floor_product_list(request):
    """GET /bench/floor/products/?category=&min_price=&max_price=&ordering=&search=&page=."""
    qs = Product.objects.filter(is_active=True)
    slug = request.GET.get("category")
    if slug:
        ids = _descendant_ids(slug)
        if ids is None:
            return _error(400, "unknown_category", f"Unknown category '{slug}'.", "category")
        qs = qs.filter(category_id__in=ids)
    for name, lookup in (("min_price", "price__gte"), ("max_price", "price__lte")):
        value = _decimal_param(request, name)
        if value is False:
            return _error(400, "invalid", "A valid number is required.", name)
        if value is not None:
            qs = qs.filter(**{lookup: value})
    for term in request.GET.get("search", "").split():
        qs = qs.filter(Q(name__icontains=term) | Q(description__icontains=term) | Q(sku__icontains=term))
    qs = qs.order_by(*_ORDERINGS.get(request.GET.get("ordering", ""), ("-created_at", "-id")))
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return _error(404, "not_found", "Invalid page.")
    count = qs.count()
    start = (page - 1) * PAGE_SIZE
    rows = list(qs.values(*_LIST_FIELDS)[start : start + PAGE_SIZE])
    images = _images_by_product([row["id"] for row in rows])
    base = request.build_absolute_uri(request.path)
    return JsonResponse(
        {
            "count": count,
            "next": f"{base}?page={page + 1}" if start + PAGE_SIZE < count else None,
            "previous": f"{base}?page={page - 1}" if page > 1 else None,
            "results": [_product_dict(row, images[row["id"]]) for row in rows],
        }
    )


def floor_product_detail(request, product_id: int):
    """GET /bench/floor/products/<id>/: one product with its category, images and active variants
    (three queries, the API's own)."""
    row = (
        Product.objects.filter(pk=product_id, is_active=True)
        .values(*_LIST_FIELDS, "description", "option_names")
        .first()
    )
    if row is None:
        return _error(404, "not_found", "Product not found.")
    images = _images_by_product([product_id])[product_id]
    data = _product_dict(row, images, description=row["description"])
    return JsonResponse(_with_variants(data, row["option_names"], _variants(product_id)))
