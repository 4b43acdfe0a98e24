"""Catalog writes: categories, products, their variants and stock, images, reviews, wishlist.

Every write that changes what a customer sees calls `catalog_cache_bump()`, which invalidates the
anonymous response cache (see products/cache.py).
"""

import logging
import re
import uuid
import warnings
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Case, Count, F, IntegerField, Max, Min, Q, Sum, Value, When
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, UnidentifiedImageError

from novacart.exceptions import Conflict, NotFound, ServiceUnavailable, ValidationFailed

from . import cache as catalog_cache
from .error_codes import ProductErrorCode
from .lock_objects import lock_category, lock_product_ids, lock_products
from .models import (
    Category,
    Product,
    ProductImage,
    ProductVariant,
    Review,
    StockMovement,
    WishlistItem,
    variant_options_key,
)

logger = logging.getLogger(__name__)

# Pillow format name -> file extension we store.
ALLOWED_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
PRODUCT_WRITABLE_FIELDS = ("name", "sku", "description", "price", "category", "is_active", "is_featured")
# What an update may not write: stock moves only by signed adjustments (product_stock_adjust), so no
# save ever puts back a stock value that was read before a checkout took some.
PRODUCT_UPDATE_NEVER_WRITES = ("stock",)
CATEGORY_WRITABLE_FIELDS = ("name", "slug", "parent", "description", "is_active", "sort_order")


# --- Cache -------------------------------------------------------------------------------------


def catalog_cache_bump() -> None:
    """Invalidates every cached anonymous catalog response (product list, detail, featured, categories).

    Call it after anything that changes what the catalog shows: a product's fields, price, stock,
    images or rating, or a category. Other apps call it too: orders when an order deducts or restores
    stock, so that `in_stock`/`stock` in cached lists never lag behind. Safe to call inside or
    outside a transaction: it bumps at once and again after the surrounding transaction commits, so
    a reader that cached the old rows between the two bumps cannot keep them.
    """
    catalog_cache.bump_version()
    transaction.on_commit(catalog_cache.bump_version)


# --- Slugs -------------------------------------------------------------------------------------


def _unique_slug(model, text: str, *, fallback: str, exclude_pk=None) -> str:
    """The slug of `text`, suffixed -2, -3, ... until no other row of `model` holds it."""
    max_length = model._meta.get_field("slug").max_length
    base = (slugify(text) or fallback)[: max_length - 8].strip("-") or fallback
    taken_qs = model.objects.filter(slug__startswith=base)
    if exclude_pk is not None:
        taken_qs = taken_qs.exclude(pk=exclude_pk)
    taken = set(taken_qs.values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# --- Categories --------------------------------------------------------------------------------


def category_check_parent(*, category: Category, parent: Category | None) -> None:
    """Raises `category_cycle` (400) when `parent` is the category itself or one of its descendants."""
    _check_no_cycle(category=category, parent=parent)


def _check_no_cycle(*, category: Category, parent: Category | None) -> None:
    if parent is None or category.pk is None:
        return
    parents = dict(Category.objects.values_list("id", "parent_id"))
    node = parent.pk
    while node is not None:
        if node == category.pk:
            raise ValidationFailed(
                "A category cannot be moved under itself or one of its sub-categories.",
                code=ProductErrorCode.CATEGORY_CYCLE,
                attr="parent",
            )
        node = parents.get(node)


def _slug_taken() -> ValidationFailed:
    return ValidationFailed("A category with this slug already exists.", code=ProductErrorCode.SLUG_TAKEN, attr="slug")


def category_create(
    *,
    name: str,
    slug: str = "",
    parent: Category | None = None,
    description: str = "",
    is_active: bool = True,
    sort_order: int = 0,
) -> Category:
    """Creates a category. Without a slug one is generated from the name (unique, suffixed when taken);
    an explicit slug that is taken raises `slug_taken` (400)."""
    if slug and Category.objects.filter(slug=slug).exists():
        raise _slug_taken()
    category = Category(
        name=name,
        slug=slug or _unique_slug(Category, name, fallback="category"),
        parent=parent,
        description=description,
        is_active=is_active,
        sort_order=sort_order,
    )
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError as exc:
        raise _slug_taken() from exc
    catalog_cache_bump()
    return category


def category_update(*, category: Category, data: dict) -> Category:
    """Updates the given fields of a category. Raises `category_cycle` (400) when the new parent is the
    category itself or one of its descendants, `slug_taken` (400) for a slug another category holds."""
    unknown = set(data) - set(CATEGORY_WRITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    if "parent" in data:
        _check_no_cycle(category=category, parent=data["parent"])
    if data.get("slug") and Category.objects.filter(slug=data["slug"]).exclude(pk=category.pk).exists():
        raise _slug_taken()
    if "slug" in data and not data["slug"]:
        data = {**data, "slug": _unique_slug(Category, data.get("name", category.name), fallback="category")}
    for field, value in data.items():
        setattr(category, field, value)
    try:
        with transaction.atomic():
            category.save(update_fields=[*data, "updated_at"])
    except IntegrityError as exc:
        raise _slug_taken() from exc
    catalog_cache_bump()
    return category


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def category_check_deletable(*, category: Category) -> None:
    """Raises `category_not_empty` (409) while the category still has products (active or not:
    orders refer to them, so products are never deleted) or sub-categories, naming how many of each
    and what to do instead: move them to another category, or deactivate this one."""
    products = category.products.count()
    children = category.children.count()
    if not products and not children:
        return
    holds = " and ".join(
        part
        for part in (
            _plural(products, "product", "products") if products else "",
            _plural(children, "sub-category", "sub-categories") if children else "",
        )
        if part
    )
    raise Conflict(
        f"“{category.name}” cannot be deleted: it still has {holds}. Move them to another category "
        "first, or deactivate this category instead (customers no longer see it in the category tree).",
        code=ProductErrorCode.CATEGORY_NOT_EMPTY,
    )


def category_delete(*, category: Category) -> None:
    """Deletes an empty category. Raises `category_not_empty` (409) while it still has products or
    sub-categories (see category_check_deletable), checked under the category's row lock so a product
    added meanwhile is never orphaned."""
    with transaction.atomic():
        locked = lock_category(category_id=category.pk)
        category_check_deletable(category=locked)
        locked.delete()
    catalog_cache_bump()


def categories_set_active(*, category_ids, is_active: bool) -> int:
    """Activates or deactivates many categories at once (admin action). An inactive category, and
    everything under it, leaves the category tree and the category filter; its products stay in the
    catalog (deactivate them separately). Returns how many changed."""
    with transaction.atomic():
        changed = (
            Category.objects.filter(pk__in=list(category_ids))
            .exclude(is_active=is_active)
            .update(is_active=is_active, updated_at=timezone.now())
        )
    catalog_cache_bump()
    return changed


# --- Products ----------------------------------------------------------------------------------


def _validate_product_values(data: dict) -> None:
    if "price" in data and (data["price"] is None or Decimal(data["price"]) <= 0):
        raise ValidationFailed("The price must be greater than zero.", code=ProductErrorCode.MIN_VALUE, attr="price")
    if "stock" in data and (data["stock"] is None or int(data["stock"]) < 0):
        raise ValidationFailed("The stock cannot be negative.", code=ProductErrorCode.MIN_VALUE, attr="stock")


def _sku_taken(sku: str, *, product_id: int | None = None, variant_id: int | None = None) -> bool:
    """SKUs are unique across the shop: a product's and every variant's. `product_id` is the product
    being written (its own SKU, which its one variant shares, does not count), `variant_id` the
    variant being written."""
    products = Product.objects.filter(sku=sku)
    if product_id is not None:
        products = products.exclude(pk=product_id)
    variants = ProductVariant.objects.filter(sku=sku)
    if variant_id is not None:
        variants = variants.exclude(pk=variant_id)
    return products.exists() or variants.exists()


def _raise_sku_taken(attr: str = "sku", detail: str = "A product with this SKU already exists."):
    raise ValidationFailed(detail, code=ProductErrorCode.SKU_TAKEN, attr=attr)


# --- Variants: the one place that writes them and keeps the product's derived fields in step ----


def product_refresh_derived(*, product_ids) -> None:
    """Sets `price` (lowest), `price_max` (highest), `stock` (sum) and `variant_count` of these
    products from their active variants, in ONE statement whatever their number: an
    `UPDATE ... FROM` the products' variants grouped once (PostgreSQL, and SQLite since 3.33), not a
    subquery per field and product. A product with no active variant (only an inactive product may
    have none) keeps its prices and shows no stock. `product_ids` may be a queryset of ids (then it
    is a subquery, not a query of its own)."""
    if isinstance(product_ids, (list, tuple, set, frozenset)):
        if not product_ids:
            return
        product_ids = list(product_ids)
    active = Q(variants__is_active=True)
    derived = (
        Product.objects.filter(pk__in=product_ids)
        .order_by()
        .values(product=F("pk"))
        .annotate(
            low=Min("variants__price", filter=active),
            high=Max("variants__price", filter=active),
            units=Sum("variants__stock", filter=active),
            count=Count("variants", filter=active),
        )
    )
    derived_sql, derived_params = derived.query.sql_with_params()
    meta = Product._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    updated_at = meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    # Only names from the model's metadata and the ORM's own SQL go into the text; values are parameters.
    sql = (
        f"UPDATE {table} SET {column('price')} = COALESCE(d.low, {table}.{column('price')}), "  # noqa: S608
        f"{column('price_max')} = COALESCE(d.high, {table}.{column('price_max')}), "
        f"{column('stock')} = COALESCE(d.units, 0), {column('variant_count')} = d.count, "
        f"{column('updated_at')} = %s FROM ({derived_sql}) AS d WHERE {table}.{column('id')} = d.product"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [updated_at, *derived_params])


def variants_move_stock(*, deltas: dict[int, int]) -> None:
    """Adds each delta to its variant's stock in ONE statement however many variants move, then
    brings their products' derived stock in step (one more). The caller holds the products' locks
    (products.lock_objects: lock_products or lock_variants); the `stock >= 0` constraint is the last
    line of defence."""
    deltas = {variant_id: delta for variant_id, delta in deltas.items() if delta}
    if not deltas:
        return
    ProductVariant.objects.filter(pk__in=deltas).update(
        stock=F("stock")
        + Case(
            *[When(pk=variant_id, then=Value(delta)) for variant_id, delta in deltas.items()],
            default=Value(0),
            output_field=IntegerField(),
        ),
        updated_at=timezone.now(),
    )
    product_refresh_derived(
        product_ids=ProductVariant.objects.filter(pk__in=list(deltas)).values("product_id").distinct()
    )


def _invalid_options(detail: str, attr: str = "options") -> ValidationFailed:
    return ValidationFailed(detail, code=ProductErrorCode.INVALID_OPTIONS, attr=attr)


def _clean_options(options, *, attr: str = "options") -> dict[str, str]:
    """Option values as stored: a JSON object of names to values, both non-empty text (trimmed, at
    most 100 characters), at most PRODUCT_MAX_OPTIONS names. Raises `invalid_options` (400)."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise _invalid_options('Options are an object of names to values, e.g. {"Size": "M"}.', attr)
    if len(options) > settings.PRODUCT_MAX_OPTIONS:
        raise _invalid_options(f"A variant has at most {settings.PRODUCT_MAX_OPTIONS} options.", attr)
    cleaned: dict[str, str] = {}
    for name, value in options.items():
        if not isinstance(name, str) or not isinstance(value, str | int) or isinstance(value, bool):
            raise _invalid_options("Option names and values are text.", attr)
        name, value = name.strip(), str(value).strip()
        if not name or not value or len(name) > 100 or len(value) > 100 or "=" in name or "|" in name:
            raise _invalid_options("Option names and values are 1 to 100 characters (names without '=' or '|').", attr)
        if name in cleaned:
            raise _invalid_options(f"The option {name!r} is given twice.", attr)
        cleaned[name] = value
    return cleaned


def _check_option_names(options: dict, option_names: list[str], *, attr: str = "options") -> None:
    if set(options) != set(option_names):
        expected = ", ".join(option_names) if option_names else "no options"
        raise ValidationFailed(
            f"Every variant of this product names the same options ({expected}); got {', '.join(options) or 'none'}.",
            code=ProductErrorCode.OPTION_MISMATCH,
            attr=attr,
        )


def _variant_name(options: dict, option_names: list[str]) -> str:
    return " / ".join(options[name] for name in option_names if name in options)[:200]


def _duplicate_variant(options: dict, *, attr: str = "options") -> Conflict:
    spelled = ", ".join(f"{name}={value}" for name, value in options.items()) or "no options"
    return Conflict(
        f"The product already has a variant with {spelled} (perhaps inactive: reactivate it instead).",
        code=ProductErrorCode.DUPLICATE_VARIANT,
        attr=attr,
    )


def _check_variant_room(*, product_id: int, adding: int) -> None:
    limit = settings.PRODUCT_MAX_VARIANTS
    if ProductVariant.objects.filter(product_id=product_id).count() + adding > limit:
        raise ValidationFailed(
            f"A product has at most {limit} variants.", code=ProductErrorCode.TOO_MANY_VARIANTS, attr="variants"
        )


def _check_image(image, *, product_id: int, attr: str = "image") -> None:
    if image is not None and image.product_id != product_id:
        raise ValidationFailed(
            "The image must be one of this product's images.", code=ProductErrorCode.INVALID, attr=attr
        )


def _variant_values(data: dict, *, attr: str | None = None, label: str = "") -> dict:
    """One variant's input, checked: sku (non-blank), price > 0, stock >= 0, weight >= 0, options.
    Errors name the field, or `attr` when given (a variant of a list: `variants`), with `label`
    ("Variant 2: ") before the detail."""
    try:
        return _variant_values_checked(data)
    except ValidationFailed as exc:
        if attr is None:
            raise
        raise ValidationFailed(f"{label}{exc.errors[0].detail}", code=exc.code, attr=attr) from exc


def _variant_values_checked(data: dict) -> dict:
    sku = (data.get("sku") or "").strip()
    if not sku:
        raise ValidationFailed("Every variant needs a SKU.", code=ProductErrorCode.BLANK, attr="sku")
    if data.get("price") is None:
        raise ValidationFailed("Every variant needs a price.", code=ProductErrorCode.MIN_VALUE, attr="price")
    values = {
        "sku": sku,
        "price": Decimal(data["price"]),
        "stock": int(data.get("stock") or 0),
        "weight_grams": int(data.get("weight_grams") or 0),
        "is_active": bool(data.get("is_active", True)),
        "options": _clean_options(data.get("options")),
    }
    _validate_product_values(values)
    if values["weight_grams"] < 0:
        raise ValidationFailed("The weight cannot be negative.", code=ProductErrorCode.MIN_VALUE, attr="weight_grams")
    if "position" in data and data["position"] is not None:
        values["position"] = int(data["position"])
    if data.get("image") is not None:
        values["image"] = data["image"]
    return values


def _checked_variant_set(variants: list[dict]) -> tuple[list[dict], list[str]]:
    """The variants of a new product, checked as a whole: the same option names on all (those of the
    first, in its order), each combination and SKU once. Returns them with the option names."""
    if not variants:
        raise ValidationFailed("A product needs at least one variant.", code=ProductErrorCode.BLANK, attr="variants")
    if len(variants) > settings.PRODUCT_MAX_VARIANTS:
        raise ValidationFailed(
            f"A product has at most {settings.PRODUCT_MAX_VARIANTS} variants.",
            code=ProductErrorCode.TOO_MANY_VARIANTS,
            attr="variants",
        )
    checked = [_variant_values(data, attr="variants", label=f"Variant {i + 1}: ") for i, data in enumerate(variants)]
    option_names = list(checked[0]["options"])
    seen_keys: set[str] = set()
    seen_skus: set[str] = set()
    for i, values in enumerate(checked):
        _check_option_names(values["options"], option_names, attr="variants")
        key = variant_options_key(values["options"])
        if key in seen_keys:
            raise _duplicate_variant(values["options"], attr="variants")
        if values["sku"] in seen_skus:
            _raise_sku_taken("variants", f"Variant {i + 1}: the SKU {values['sku']} is given twice.")
        seen_keys.add(key)
        seen_skus.add(values["sku"])
        values.setdefault("position", i)
    return checked, option_names


def _insert_variants(*, product: Product, variants: list[dict], option_names: list[str]) -> list[ProductVariant]:
    rows = [
        ProductVariant(product=product, name=_variant_name(values["options"], option_names), **values)
        for values in variants
    ]
    for row in rows:
        row.options_key = variant_options_key(row.options)
    ProductVariant.objects.bulk_create(rows)
    return rows


def product_create(
    *,
    name: str,
    sku: str,
    price: Decimal | None = None,
    stock: int = 0,
    description: str = "",
    category: Category | None = None,
    is_active: bool = True,
    is_featured: bool = False,
    weight_grams: int = 0,
    variants: list[dict] | None = None,
) -> Product:
    """Creates a product with a generated slug: the slugified name, suffixed -2, -3, ... when another
    product holds it, and never changed afterwards (links stay valid after a rename).

    Without `variants` (the single-SKU form) the product gets one variant without options carrying
    `sku`, `price`, `stock` and `weight_grams`. With `variants` (dicts of sku, price, stock,
    weight_grams, options, is_active, position) `sku` is the product's own code and each variant is
    checked: the same option names on all, each combination once.

    Raises `sku_taken` (400) for a SKU in use anywhere in the shop, `min_value` (400) for a price <= 0
    or a negative stock, `option_mismatch` / `invalid_options` (400), `duplicate_variant` (409) and
    `too_many_variants` (400)."""
    if variants is None:
        if price is None:
            raise ValidationFailed("The price is required.", code=ProductErrorCode.MIN_VALUE, attr="price")
        variants = [{"sku": sku, "price": price, "stock": stock, "weight_grams": weight_grams}]
        single_sku = True
    else:
        single_sku = False
    checked, option_names = _checked_variant_set(variants)
    for values in checked:
        if values.get("image") is not None:
            raise ValidationFailed(
                "A new product has no images yet: set a variant's image once they are uploaded.",
                code=ProductErrorCode.INVALID,
                attr="variants",
            )
    if _sku_taken(sku):
        _raise_sku_taken()
    for i, values in enumerate(checked):
        # The single-SKU form's variant carries the product's SKU, checked above.
        if not single_sku and _sku_taken(values["sku"]):
            _raise_sku_taken("variants", f"Variant {i + 1}: a product with the SKU {values['sku']} already exists.")
    active = [values for values in checked if values["is_active"]] or checked
    product = Product(
        name=name,
        sku=sku,
        price=min(values["price"] for values in active),
        price_max=max(values["price"] for values in active),
        stock=sum(values["stock"] for values in active if values["is_active"]),
        variant_count=sum(1 for values in checked if values["is_active"]),
        option_names=option_names,
        description=description,
        category=category,
        is_active=is_active,
        is_featured=is_featured,
    )
    # A concurrent create may take the slug we picked: pick again (a SKU clash is final).
    for attempt in range(5):
        product.slug = _unique_slug(Product, name, fallback="product")
        if attempt:
            product.slug = f"{product.slug}-{uuid.uuid4().hex[:6]}"
        try:
            with transaction.atomic():
                product.save(force_insert=True)
                _insert_variants(product=product, variants=checked, option_names=option_names)
            break
        except IntegrityError:
            product.pk = None
            if _sku_taken(sku) or any(_sku_taken(values["sku"]) for values in checked):
                _raise_sku_taken()
            if attempt == 4:
                raise
    catalog_cache_bump()
    return product


def product_single_variant(*, product_id: int) -> ProductVariant | None:
    """The product's variant when it has exactly one (a product sold in one form), else None."""
    variants = list(ProductVariant.objects.filter(product_id=product_id).order_by("pk")[:2])
    return variants[0] if len(variants) == 1 else None


def variant_create(
    *,
    product: Product,
    sku: str,
    price: Decimal,
    stock: int = 0,
    weight_grams: int = 0,
    options: dict | None = None,
    is_active: bool = True,
    position: int | None = None,
    image: ProductImage | None = None,
) -> ProductVariant:
    """Adds a variant to a product, under the product's row lock: it names the product's options (400
    `option_mismatch`), its combination is new (409 `duplicate_variant`), its SKU is free in the whole
    shop (400 `sku_taken`), the product has room (400 `too_many_variants`), the image is one of the
    product's (400 `invalid`). The product's price, stock and counts follow."""
    values = _variant_values(
        {
            "sku": sku,
            "price": price,
            "stock": stock,
            "weight_grams": weight_grams,
            "options": options,
            "is_active": is_active,
            "position": position,
            "image": image,
        },
    )
    with transaction.atomic():
        locked = lock_products(product_ids=[product.pk])[product.pk]
        _check_variant_room(product_id=product.pk, adding=1)
        _check_option_names(values["options"], locked.option_names)
        if ProductVariant.objects.filter(
            product_id=product.pk, options_key=variant_options_key(values["options"])
        ).exists():
            raise _duplicate_variant(values["options"])
        if _sku_taken(values["sku"]):
            _raise_sku_taken()
        _check_image(values.get("image"), product_id=product.pk)
        if values.get("position") is None:
            last = ProductVariant.objects.filter(product_id=product.pk).aggregate(last=Max("position"))["last"]
            values["position"] = 0 if last is None else last + 1
        variant = ProductVariant(product=locked, name=_variant_name(values["options"], locked.option_names), **values)
        try:
            with transaction.atomic():
                variant.save(force_insert=True)
        except IntegrityError as exc:
            _raise_sku_taken()
            raise exc
        product_refresh_derived(product_ids=[product.pk])
    catalog_cache_bump()
    return variant


VARIANT_WRITABLE_FIELDS = ("sku", "price", "weight_grams", "options", "is_active", "position", "image")


def _refuse_last_variant(*, variant: ProductVariant, product: Product) -> None:
    others = ProductVariant.objects.filter(product_id=product.pk, is_active=True).exclude(pk=variant.pk)
    if variant.is_active and product.is_active and not others.exists():
        raise Conflict(
            "This is the last variant on sale of an active product; add another variant or deactivate "
            "the product first.",
            code=ProductErrorCode.LAST_VARIANT,
        )


def variant_update(*, variant: ProductVariant, data: dict) -> ProductVariant:
    """Changes the given fields of a variant, under its product's row lock. `stock` is refused (400
    `stock_not_writable`: stock moves by adjustments). New options must name the product's options
    (400 `option_mismatch`), except on a product's only variant, which may redefine them (a one-form
    product becoming a product in sizes); a combination another variant holds is 409
    `duplicate_variant`. Deactivating the last active variant of an active product is 409
    `last_variant`. On a product sold in one form the product's SKU follows the variant's."""
    _refuse_stock_write(data)
    unknown = set(data) - set(VARIANT_WRITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    _validate_product_values(data)
    if data.get("weight_grams") is not None and data["weight_grams"] < 0:
        raise ValidationFailed("The weight cannot be negative.", code=ProductErrorCode.MIN_VALUE, attr="weight_grams")
    data = dict(data)
    if "sku" in data:
        data["sku"] = (data["sku"] or "").strip()
        if not data["sku"]:
            raise ValidationFailed("The SKU may not be blank.", code=ProductErrorCode.BLANK, attr="sku")
    if "options" in data:
        data["options"] = _clean_options(data["options"])
    with transaction.atomic():
        product = lock_products(product_ids=[variant.product_id])[variant.product_id]
        variant = ProductVariant.objects.get(pk=variant.pk)
        only_variant = not ProductVariant.objects.filter(product_id=product.pk).exclude(pk=variant.pk).exists()
        product_fields = []
        if "options" in data:
            if only_variant:
                if list(data["options"]) != product.option_names:
                    product.option_names = list(data["options"])
                    product_fields.append("option_names")
            else:
                _check_option_names(data["options"], product.option_names)
                if (
                    ProductVariant.objects.filter(
                        product_id=product.pk, options_key=variant_options_key(data["options"])
                    )
                    .exclude(pk=variant.pk)
                    .exists()
                ):
                    raise _duplicate_variant(data["options"])
        if data.get("is_active") is False:
            _refuse_last_variant(variant=variant, product=product)
        if "sku" in data and data["sku"] != variant.sku:
            if _sku_taken(data["sku"], product_id=product.pk if only_variant else None, variant_id=variant.pk):
                _raise_sku_taken()
            if only_variant:
                product.sku = data["sku"]
                product_fields.append("sku")
        if "image" in data:
            _check_image(data["image"], product_id=product.pk)
        for field, value in data.items():
            setattr(variant, field, value)
        variant.name = _variant_name(variant.options, product.option_names)
        try:
            with transaction.atomic():
                if product_fields:
                    product.save(update_fields=[*product_fields, "updated_at"])
                variant.save(update_fields=[*data, "name", "updated_at"])
        except IntegrityError as exc:
            if "sku" in data:
                _raise_sku_taken()
            raise exc
        product_refresh_derived(product_ids=[product.pk])
    catalog_cache_bump()
    return variant


def variant_deactivate(*, variant: ProductVariant) -> ProductVariant:
    """Takes a variant off sale (`DELETE .../variants/<id>/`): the row stays, as orders refer to it.
    The last active variant of an active product cannot go (409 `last_variant`). Twice is a no-op."""
    if not variant.is_active:
        return variant
    return variant_update(variant=variant, data={"is_active": False})


def _refuse_stock_write(data) -> None:
    if "stock" in data:
        raise ValidationFailed(
            "Stock is not set by an update; adjust it with POST /api/products/<id>/stock-adjustments/ "
            '{"delta": 20, "reason": "received"}.',
            code=ProductErrorCode.STOCK_NOT_WRITABLE,
            attr="stock",
        )


def _variant_required(attr: str = "variant_id") -> ValidationFailed:
    return ValidationFailed(
        "This product comes in several variants: name the variant (its variant_id).",
        code=ProductErrorCode.VARIANT_REQUIRED,
        attr=attr,
    )


def product_update(*, product: Product, data: dict) -> Product:
    """Updates the given fields of a product (the slug stays: links keep working). On a product sold
    in one form, `sku` and `price` are its variant's and are written there too; on a product with
    several variants a new `price` is 400 `variant_required` (prices are per variant; the same price
    as now is accepted, so a PUT of what was read works) and `sku` is the product's own code.
    Raises `sku_taken` (400) for a SKU in use elsewhere, `min_value` (400) for a price <= 0,
    `stock_not_writable` (400) when `stock` is given: stock changes only through adjustments."""
    _refuse_stock_write(data)
    unknown = set(data) - set(PRODUCT_WRITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    _validate_product_values(data)
    with transaction.atomic():
        locked = lock_products(product_ids=[product.pk])[product.pk]
        single = product_single_variant(product_id=product.pk)
        if single is None and "price" in data and Decimal(data["price"]) != locked.price:
            raise _variant_required(attr="price")
        data = {field: value for field, value in data.items() if single is not None or field != "price"}
        # An unchanged SKU is never "taken" (a product's code may be one of its own variants' SKUs).
        if (
            "sku" in data
            and data["sku"] != locked.sku
            and _sku_taken(data["sku"], product_id=product.pk, variant_id=single.pk if single is not None else None)
        ):
            _raise_sku_taken()
        for field, value in data.items():
            setattr(product, field, value)
        try:
            with transaction.atomic():
                product.save(update_fields=[*data, "updated_at"])
                variant_fields = [field for field in ("sku", "price") if field in data]
                if single is not None and variant_fields:
                    for field in variant_fields:
                        setattr(single, field, data[field])
                    single.save(update_fields=[*variant_fields, "updated_at"])
        except IntegrityError as exc:
            if "sku" in data:
                _raise_sku_taken()
            raise exc
        if single is not None and "price" in data:
            product_refresh_derived(product_ids=[product.pk])
    product.refresh_from_db(fields=PRODUCT_DERIVED_FIELDS)
    catalog_cache_bump()
    return product


# Fields no form or update writes: they follow the variants (product_refresh_derived).
PRODUCT_DERIVED_FIELDS = ("price", "price_max", "stock", "variant_count", "option_names")


def product_save_from_admin(*, product: Product, changed=()) -> Product:
    """The admin's save. A new product gets a generated slug when it has none, and one variant
    without options carrying the form's SKU, price and opening stock. An existing product's save
    writes every field but those derived from its variants and stock (the form's copy of it was read
    earlier, and a checkout may have taken units since); on a product sold in one form a changed SKU
    or price goes to its variant too. Every save invalidates the catalog cache. Database constraints
    (price > 0, stock >= 0, unique SKU) still apply; a SKU another product or variant holds is 400
    `sku_taken`."""
    _validate_product_values({"price": product.price, "stock": product.stock})
    if not product.slug:
        product.slug = _unique_slug(Product, product.name, fallback="product", exclude_pk=product.pk)
    with transaction.atomic():
        if product.pk is None:
            if _sku_taken(product.sku):
                _raise_sku_taken()
            product.price_max, product.variant_count, product.option_names = product.price, 1, []
            product.save()
            _insert_variants(
                product=product,
                variants=[{"sku": product.sku, "price": product.price, "stock": product.stock, "options": {}}],
                option_names=[],
            )
        else:
            lock_products(product_ids=[product.pk])
            single = product_single_variant(product_id=product.pk)
            if "sku" in changed and _sku_taken(
                product.sku, product_id=product.pk, variant_id=single.pk if single is not None else None
            ):
                _raise_sku_taken()
            product.save(update_fields=_PRODUCT_ADMIN_UPDATE_FIELDS)
            if single is not None and ("sku" in changed or "price" in changed):
                single.sku, single.price = product.sku, product.price
                single.save(update_fields=["sku", "price", "updated_at"])
            product_refresh_derived(product_ids=[product.pk])
            product.refresh_from_db(fields=[*PRODUCT_UPDATE_NEVER_WRITES, *PRODUCT_DERIVED_FIELDS])
    catalog_cache_bump()
    return product


_PRODUCT_ADMIN_UPDATE_FIELDS = [
    field.name
    for field in Product._meta.concrete_fields
    if not field.primary_key and field.name not in (*PRODUCT_UPDATE_NEVER_WRITES, *PRODUCT_DERIVED_FIELDS, "created_at")
]


def variant_stock_adjust(
    *, variant_id: int, delta: int, reason: str, actor=None, seen_movement_id: int | None = None
) -> StockMovement:
    """Moves a variant's stock by `delta` units ("+20 received", "-2 damaged") with one conditional
    update under its product's row lock (the lock order of checkouts: product, then variant), so it
    composes with checkouts and cancellations running at the same time (no value read earlier is
    ever written back), and records who, when, why and the stock it left. The product's stock follows.

    `seen_movement_id`, when given, is the variant's latest movement (0: none) on the page the person
    decided from (the admin's form): an adjustment recorded since (a double submit, a colleague) refuses
    this one, checked under the lock.

    Raises NotFound (no such variant), ValidationFailed (`min_value` for a zero delta, `blank` for no
    reason), Conflict (`out_of_stock`) when removing more units than are in stock, Conflict
    (`stock_changed`) when another adjustment was recorded after `seen_movement_id`.
    """
    reason = (reason or "").strip()
    if not delta:
        raise ValidationFailed(
            "The adjustment must add or remove at least one unit.", code=ProductErrorCode.MIN_VALUE, attr="delta"
        )
    if not reason:
        raise ValidationFailed(
            "Say why the stock changes (e.g. received, damaged).", code=ProductErrorCode.BLANK, attr="reason"
        )
    product_id = ProductVariant.objects.filter(pk=variant_id).values_list("product_id", flat=True).first()
    if product_id is None:
        raise NotFound("Variant not found.")
    with transaction.atomic():
        lock_product_ids(product_ids=[product_id])
        if seen_movement_id is not None and seen_movement_id != variant_last_movement_id(variant_id=variant_id):
            stock = ProductVariant.objects.filter(pk=variant_id).values_list("stock", flat=True).get()
            raise Conflict(
                f"The stock was adjusted since this page was shown (now {stock}); nothing was changed.",
                code=ProductErrorCode.STOCK_CHANGED,
                attr="delta",
            )
        moved = ProductVariant.objects.filter(pk=variant_id, stock__gte=-delta).update(
            stock=F("stock") + delta, updated_at=timezone.now()
        )
        stock = ProductVariant.objects.filter(pk=variant_id).values_list("stock", flat=True).get()
        if not moved:
            raise Conflict(
                f"Only {stock} in stock; cannot remove {-delta}.", code=ProductErrorCode.OUT_OF_STOCK, attr="delta"
            )
        product_refresh_derived(product_ids=[product_id])
        movement = StockMovement.objects.create(
            product_id=product_id,
            variant_id=variant_id,
            delta=delta,
            reason=reason[:200],
            stock_after=stock,
            actor=actor,
        )
    catalog_cache_bump()
    logger.info("stock of variant %s moved by %+d to %s (%s) by %s", variant_id, delta, stock, reason, actor)
    return movement


def product_stock_adjust(
    *,
    product_id: int,
    delta: int,
    reason: str,
    actor=None,
    seen_movement_id: int | None = None,
    variant_id: int | None = None,
) -> StockMovement:
    """`variant_stock_adjust` for one variant of this product: `variant_id`, or the product's only
    variant when it is sold in one form. Raises NotFound for an unknown product or a variant of
    another product, `variant_required` (400) for a product with several variants and no
    `variant_id`; then as `variant_stock_adjust`."""
    if variant_id is None:
        if not Product.objects.filter(pk=product_id).exists():
            raise NotFound("Product not found.")
        single = product_single_variant(product_id=product_id)
        if single is None:
            raise _variant_required()
        variant_id = single.pk
    elif not ProductVariant.objects.filter(pk=variant_id, product_id=product_id).exists():
        raise NotFound("Variant not found.")
    return variant_stock_adjust(
        variant_id=variant_id, delta=delta, reason=reason, actor=actor, seen_movement_id=seen_movement_id
    )


def variant_last_movement_id(*, variant_id: int) -> int:
    """The id of the variant's latest stock movement, 0 when it has none."""
    return StockMovement.objects.filter(variant_id=variant_id).order_by("-id").values_list("id", flat=True).first() or 0


def product_last_movement_id(*, product_id: int) -> int:
    """The id of the product's latest stock movement, 0 when it has none."""
    return StockMovement.objects.filter(product_id=product_id).order_by("-id").values_list("id", flat=True).first() or 0


def category_save_from_admin(*, category: Category) -> Category:
    """The admin's save of a category: generates a missing slug, refuses cycles, invalidates the cache."""
    _check_no_cycle(category=category, parent=category.parent)
    if not category.slug:
        category.slug = _unique_slug(Category, category.name, fallback="category", exclude_pk=category.pk)
    with transaction.atomic():
        category.save()
    catalog_cache_bump()
    return category


def product_deactivate(*, product: Product) -> Product:
    """Hides a product from customers (`DELETE /api/products/<id>/`). The row stays: orders keep
    referring to it and staff still see it. Deactivating twice is a no-op."""
    if product.is_active:
        product.is_active = False
        product.save(update_fields=["is_active", "updated_at"])
        catalog_cache_bump()
    return product


def products_set_active(*, product_ids, is_active: bool) -> int:
    """Activates or deactivates many products at once (admin actions: deactivate, re-activate).
    Returns how many changed; those already in that state are left alone."""
    with transaction.atomic():
        changed = (
            Product.objects.filter(pk__in=list(product_ids))
            .exclude(is_active=is_active)
            .update(is_active=is_active, updated_at=timezone.now())
        )
    catalog_cache_bump()
    return changed


def products_set_featured(*, product_ids, is_featured: bool) -> int:
    """Features or unfeatures many products at once (admin action). Returns how many changed."""
    with transaction.atomic():
        changed = (
            Product.objects.filter(pk__in=list(product_ids))
            .exclude(is_featured=is_featured)
            .update(is_featured=is_featured)
        )
    catalog_cache_bump()
    return changed


# --- Images ------------------------------------------------------------------------------------


def _image_error(code: ProductErrorCode, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code=code, attr="image")


_GIF_BLOCK = re.compile(rb"[!,;]")


def _gif_frame_count(data: bytes, *, stop_after: int) -> int:
    """The frames of a GIF, read from its block structure (GIF89a) with the image data skipped and
    nothing decoded, the count stopped once it passes `stop_after`. Pillow's own count (`n_frames`)
    walks the whole file: a second or more for 5 MB of one-pixel frames.

    After the header and global palette come blocks: `!` an extension (a label, then sub-blocks),
    `,` a frame (a 9-byte descriptor, an optional local palette, the LZW code size, then data
    sub-blocks), `;` the end. A stray byte between blocks is skipped and reading goes on, as Pillow
    does (browsers stop there), so the count is never below what a viewer shows.
    """

    def after_sub_blocks(position: int) -> int:
        while position < len(data) and data[position]:
            position += 1 + data[position]
        return position + 1

    screen_flags = data[10] if len(data) > 10 else 0
    position = 13 + (3 << ((screen_flags & 7) + 1) if screen_flags & 0x80 else 0)
    frames = 0
    while frames <= stop_after:
        block = _GIF_BLOCK.search(data, position)
        if block is None or block.group() == b";":
            break
        position = block.end()
        if block.group() == b"!":
            position = after_sub_blocks(position + 1)
            continue
        if position + 9 > len(data):
            break
        frame_flags = data[position + 8]
        position += 9 + (3 << ((frame_flags & 7) + 1) if frame_flags & 0x80 else 0) + 1
        frames += 1
        position = after_sub_blocks(position)
    return frames


def _inspect_image(upload) -> str:
    """Checks an uploaded file is a real image we accept; returns its storage extension.

    The pixel count is read from the header before any decoding, so a decompression bomb is refused
    without being decompressed; Pillow's own bomb guard (error or warning) maps to the same 400. An
    animation (GIF, WebP, APNG) is as many whole canvases as it has frames to whoever shows it, so its
    frames are counted (PRODUCT_IMAGE_MAX_FRAMES) and their pixels added up against
    PRODUCT_IMAGE_MAX_PIXELS; the count comes from the file's structure (a GIF's frame headers, its
    image data skipped; the WebP and APNG headers), with no frame decoded.
    """
    max_bytes = settings.PRODUCT_IMAGE_MAX_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise _image_error(ProductErrorCode.IMAGE_TOO_LARGE, f"The image is larger than {max_bytes} bytes.")
    if not upload.size:
        raise _image_error(ProductErrorCode.INVALID_IMAGE, "The file is empty.")
    max_pixels = settings.PRODUCT_IMAGE_MAX_PIXELS
    too_many_pixels = _image_error(
        ProductErrorCode.IMAGE_TOO_MANY_PIXELS, f"The image has more than {max_pixels} pixels (all frames counted)."
    )
    try:
        upload.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                image_format = image.format
                width, height = image.size
                if width * height > max_pixels:
                    raise too_many_pixels
                if image_format not in ALLOWED_IMAGE_FORMATS:
                    raise _image_error(
                        ProductErrorCode.IMAGE_TYPE_NOT_ALLOWED,
                        "Only JPEG, PNG, WebP and GIF images are accepted.",
                    )
                # WebP and APNG declare their frames in the header; Pillow counts a GIF's by walking the
                # whole file, so that count is ours (below), and stops past the limit.
                frames = None if image_format == "GIF" else getattr(image, "n_frames", 1)
                image.verify()
        max_frames = settings.PRODUCT_IMAGE_MAX_FRAMES
        if frames is None:
            upload.seek(0)
            frames = _gif_frame_count(upload.read(), stop_after=max_frames)
        if frames > max_frames:
            raise _image_error(
                ProductErrorCode.IMAGE_TOO_MANY_FRAMES, f"The animation has more than {max_frames} frames."
            )
        if frames * width * height > max_pixels:
            raise too_many_pixels
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_many_pixels from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _image_error(ProductErrorCode.INVALID_IMAGE, "The file is not a valid image.") from exc
    finally:
        upload.seek(0)
    return ALLOWED_IMAGE_FORMATS[image_format]


def product_image_validate(*, upload) -> str:
    """Checks an uploaded image against the same rules as `product_image_add` (size, pixel count,
    frame count, JPEG/PNG/WebP/GIF, a real image) and returns the extension to store it under. Raises
    the same 400 codes."""
    return _inspect_image(upload)


def product_image_add(*, product: Product, upload, alt_text: str = "") -> ProductImage:
    """Stores an uploaded image for a product on the configured media storage, after the end of the
    product's gallery. Raises (400) `image_too_large` over PRODUCT_IMAGE_MAX_BYTES,
    `image_too_many_pixels` over PRODUCT_IMAGE_MAX_PIXELS (all frames of an animation counted,
    decompression bombs included), `image_too_many_frames` over PRODUCT_IMAGE_MAX_FRAMES,
    `image_type_not_allowed` for anything but JPEG/PNG/WebP/GIF, `invalid_image` for a non-image;
    (503) `media_storage_unavailable` when the storage does not take the file, with nothing written."""
    extension = _inspect_image(upload)
    # The file goes to storage (possibly over the network: S3, Cloudinary) before the row is
    # written, so no lock is held during the upload.
    image = ProductImage(product=product, alt_text=alt_text[:200])
    try:
        image.image.save(f"{uuid.uuid4().hex}.{extension}", upload, save=False)
    # Each storage fails with its own types (botocore's, cloudinary's, OSError for the disk): whatever
    # it is, the image is not stored and the staff member may retry.
    except Exception as exc:
        # A warning, not an error: the 503 itself reaches error monitoring as one event, with this
        # exception as its cause (drf-standardized-errors reports every 5xx), and is not counted twice.
        logger.warning(
            "product image upload: the media storage refused the file product_id=%s", product.pk, exc_info=True
        )
        raise ServiceUnavailable(
            "The media storage did not accept the image; nothing was saved. Try again.",
            code=ProductErrorCode.MEDIA_STORAGE_UNAVAILABLE,
        ) from exc
    with transaction.atomic():
        lock_product_ids(product_ids=[product.pk])
        last = product.images.aggregate(last=Max("position"))["last"]
        image.position = 0 if last is None else last + 1
        image.save()
    catalog_cache_bump()
    return image


# --- Reviews -----------------------------------------------------------------------------------


def _product_rating_recompute(*, product_id: int) -> None:
    """Must run inside a transaction that holds the product's row lock."""
    stats = Review.objects.filter(product_id=product_id, is_visible=True).aggregate(
        avg=Avg("rating"), count=Count("id")
    )
    average = Decimal(str(stats["avg"] or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    Product.objects.filter(pk=product_id).update(rating_avg=average, rating_count=stats["count"])


def review_create(*, product: Product, user, rating: int, comment: str = "") -> Review:
    """Adds the user's review of a product and updates the product's rating in the same transaction,
    under the product's row lock. One review per user and product: a second raises `already_reviewed`
    (400); edit the first instead."""
    already = ValidationFailed(
        "You have already reviewed this product; edit your review instead.",
        code=ProductErrorCode.ALREADY_REVIEWED,
    )
    try:
        with transaction.atomic():
            lock_product_ids(product_ids=[product.pk])
            if Review.objects.filter(product=product, user=user).exists():
                raise already
            review = Review.objects.create(product=product, user=user, rating=rating, comment=comment)
            _product_rating_recompute(product_id=product.pk)
    except IntegrityError as exc:
        raise already from exc
    catalog_cache_bump()
    return review


def review_update(*, review: Review, data: dict) -> Review:
    """Changes the rating and/or comment of a review and recomputes the product's rating."""
    unknown = set(data) - {"rating", "comment"}
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    with transaction.atomic():
        lock_product_ids(product_ids=[review.product_id])
        for field, value in data.items():
            setattr(review, field, value)
        review.save(update_fields=[*data, "updated_at"])
        _product_rating_recompute(product_id=review.product_id)
    catalog_cache_bump()
    return review


def review_delete(*, review: Review) -> None:
    """Deletes a review and recomputes the product's rating."""
    with transaction.atomic():
        lock_product_ids(product_ids=[review.product_id])
        review.delete()
        _product_rating_recompute(product_id=review.product_id)
    catalog_cache_bump()


def reviews_set_visibility(*, review_ids, is_visible: bool) -> int:
    """Moderation: hides or shows reviews; hidden reviews are neither listed nor counted in the
    product's rating, which is recomputed for every product touched. Returns how many changed."""
    review_ids = list(review_ids)
    with transaction.atomic():
        product_ids = sorted(set(Review.objects.filter(pk__in=review_ids).values_list("product_id", flat=True)))
        lock_product_ids(product_ids=product_ids)
        changed = Review.objects.filter(pk__in=review_ids).exclude(is_visible=is_visible).update(is_visible=is_visible)
        for product_id in product_ids:
            _product_rating_recompute(product_id=product_id)
    catalog_cache_bump()
    return changed


# --- Wishlist ----------------------------------------------------------------------------------


def wishlist_add(*, user, product_id: int) -> tuple[WishlistItem, bool]:
    """Adds a product to the user's wishlist; returns (item, created). Adding a product that is already
    there returns the existing item (no duplicate, no error). Raises `product_unavailable` (400) for
    an unknown or inactive product."""
    if not Product.objects.filter(pk=product_id, is_active=True).exists():
        raise ValidationFailed(
            "This product does not exist or is not available.",
            code=ProductErrorCode.PRODUCT_UNAVAILABLE,
            attr="product_id",
        )
    existing = WishlistItem.objects.filter(user=user, product_id=product_id).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            return WishlistItem.objects.create(user=user, product_id=product_id), True
    except IntegrityError:  # a concurrent add of the same product won
        return WishlistItem.objects.get(user=user, product_id=product_id), False


def wishlist_remove(*, user, item_id: int) -> None:
    """Removes an item from the user's wishlist. Raises `not_found` (404) for an unknown id or
    another user's item."""
    deleted, _ = WishlistItem.objects.filter(pk=item_id, user=user).delete()
    if not deleted:
        raise NotFound("Wishlist item not found.")
