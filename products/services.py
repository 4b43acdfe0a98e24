"""Catalog writes: categories, products, images, reviews, wishlist.

Every write that changes what a customer sees calls `catalog_cache_bump()`, which invalidates the
anonymous response cache (see products/cache.py).
"""

import logging
import re
import uuid
import warnings
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Max
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, UnidentifiedImageError

from novacart.exceptions import Conflict, NotFound, ServiceUnavailable, ValidationFailed

from . import cache as catalog_cache
from .error_codes import ProductErrorCode
from .lock_objects import lock_category, lock_product_ids
from .models import Category, Product, ProductImage, Review, StockMovement, WishlistItem

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


def _sku_taken(sku: str, *, exclude_pk=None) -> bool:
    qs = Product.objects.filter(sku=sku)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _raise_sku_taken():
    raise ValidationFailed("A product with this SKU already exists.", code=ProductErrorCode.SKU_TAKEN, attr="sku")


def product_create(
    *,
    name: str,
    sku: str,
    price: Decimal,
    stock: int = 0,
    description: str = "",
    category: Category | None = None,
    is_active: bool = True,
    is_featured: bool = False,
) -> Product:
    """Creates a product with a generated slug: the slugified name, suffixed -2, -3, ... when another
    product holds it, and never changed afterwards (links stay valid after a rename). Raises
    `sku_taken` (400) for a SKU in use, `min_value` (400) for a price <= 0 or a negative stock."""
    _validate_product_values({"price": price, "stock": stock})
    if _sku_taken(sku):
        _raise_sku_taken()
    product = Product(
        name=name,
        sku=sku,
        price=price,
        stock=stock,
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
            break
        except IntegrityError:
            product.pk = None
            if _sku_taken(sku):
                _raise_sku_taken()
            if attempt == 4:
                raise
    catalog_cache_bump()
    return product


def _refuse_stock_write(data) -> None:
    if "stock" in data:
        raise ValidationFailed(
            "Stock is not set by an update; adjust it with POST /api/products/<id>/stock-adjustments/ "
            '{"delta": 20, "reason": "received"}.',
            code=ProductErrorCode.STOCK_NOT_WRITABLE,
            attr="stock",
        )


def product_update(*, product: Product, data: dict) -> Product:
    """Updates the given fields of a product (the slug stays: links keep working). Raises `sku_taken`
    (400) for a SKU another product holds, `min_value` (400) for a price <= 0, `stock_not_writable`
    (400) when `stock` is given: stock changes only through product_stock_adjust."""
    _refuse_stock_write(data)
    unknown = set(data) - set(PRODUCT_WRITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    _validate_product_values(data)
    if "sku" in data and _sku_taken(data["sku"], exclude_pk=product.pk):
        _raise_sku_taken()
    for field, value in data.items():
        setattr(product, field, value)
    try:
        with transaction.atomic():
            product.save(update_fields=[*data, "updated_at"])
    except IntegrityError as exc:
        if "sku" in data and _sku_taken(data["sku"], exclude_pk=product.pk):
            _raise_sku_taken()
        raise exc
    catalog_cache_bump()
    return product


def product_save_from_admin(*, product: Product) -> Product:
    """The admin's save: a new product gets a generated slug when it has none and its opening stock;
    an existing product's save writes every field but stock (the form's copy of it was read earlier,
    and a checkout may have taken units since). Every save invalidates the catalog cache. Database
    constraints (price > 0, stock >= 0, unique SKU) still apply."""
    _validate_product_values({"price": product.price, "stock": product.stock})
    if not product.slug:
        product.slug = _unique_slug(Product, product.name, fallback="product", exclude_pk=product.pk)
    with transaction.atomic():
        if product.pk is None:
            product.save()
        else:
            product.save(update_fields=_PRODUCT_ADMIN_UPDATE_FIELDS)
            product.refresh_from_db(fields=PRODUCT_UPDATE_NEVER_WRITES)
    catalog_cache_bump()
    return product


_PRODUCT_ADMIN_UPDATE_FIELDS = [
    field.name
    for field in Product._meta.concrete_fields
    if not field.primary_key and field.name not in (*PRODUCT_UPDATE_NEVER_WRITES, "created_at")
]


def product_stock_adjust(
    *, product_id: int, delta: int, reason: str, actor=None, seen_movement_id: int | None = None
) -> StockMovement:
    """Moves a product's stock by `delta` units ("+20 received", "-2 damaged") with one conditional
    update, so it composes with checkouts and cancellations running at the same time (no value read
    earlier is ever written back), and records who, when, why and the stock it left.

    `seen_movement_id`, when given, is the product's latest movement (0: none) on the page the person
    decided from (the admin's form): an adjustment recorded since (a double submit, a colleague) refuses
    this one, checked after the update so two at once queue on the product row.

    Raises NotFound (no such product), ValidationFailed (`min_value` for a zero delta, `blank` for no
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
    with transaction.atomic():
        moved = Product.objects.filter(pk=product_id, stock__gte=-delta).update(
            stock=F("stock") + delta, updated_at=timezone.now()
        )
        stock = Product.objects.filter(pk=product_id).values_list("stock", flat=True).first()
        if stock is None:
            raise NotFound("Product not found.")
        if not moved:
            raise Conflict(
                f"Only {stock} in stock; cannot remove {-delta}.", code=ProductErrorCode.OUT_OF_STOCK, attr="delta"
            )
        if seen_movement_id is not None and seen_movement_id != product_last_movement_id(product_id=product_id):
            raise Conflict(
                f"The stock was adjusted since this page was shown (now {stock - delta}); nothing was changed.",
                code=ProductErrorCode.STOCK_CHANGED,
                attr="delta",
            )
        movement = StockMovement.objects.create(
            product_id=product_id, delta=delta, reason=reason[:200], stock_after=stock, actor=actor
        )
    catalog_cache_bump()
    logger.info("stock of product %s moved by %+d to %s (%s) by %s", product_id, delta, stock, reason, actor)
    return movement


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
