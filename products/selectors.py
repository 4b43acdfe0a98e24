"""Catalog reads. Querysets declare their joins once, so the number of queries does not grow with the page."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from novacart.exceptions import NotFound
from orders.models import ORDER_SALE_STATUSES, OrderItem

from .models import Category, Product, ProductImage, ProductVariant, Review, StockMovement, WishlistItem

# --- Categories --------------------------------------------------------------------------------


@dataclass
class CategoryNode:
    id: int
    name: str
    slug: str
    parent: int | None
    description: str
    is_active: bool
    sort_order: int
    children: list["CategoryNode"] = field(default_factory=list)


@dataclass
class CategoryForest:
    """Every category, loaded in one query, linked in Python."""

    nodes: dict[int, CategoryNode]
    roots: list[CategoryNode]
    by_slug: dict[str, CategoryNode]


def category_forest(*, active_only: bool = False) -> CategoryForest:
    """All categories (or only those visible to customers) as a tree, in exactly one query."""
    rows = Category.objects.values_list("id", "name", "slug", "parent_id", "description", "is_active", "sort_order")
    nodes = {row[0]: CategoryNode(*row) for row in rows}  # already in Meta.ordering order
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.parent) if node.parent is not None else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    forest = CategoryForest(nodes=nodes, roots=roots, by_slug={n.slug: n for n in nodes.values()})
    if active_only:
        _prune_inactive(forest)
    return forest


def _prune_inactive(forest: CategoryForest) -> None:
    def keep(node: CategoryNode) -> bool:
        if not node.is_active:
            return False
        node.children = [child for child in node.children if keep(child)]
        return True

    forest.roots = [root for root in forest.roots if keep(root)]
    visible: dict[int, CategoryNode] = {}
    stack = list(forest.roots)
    while stack:
        node = stack.pop()
        visible[node.id] = node
        stack.extend(node.children)
    forest.nodes = visible
    forest.by_slug = {n.slug: n for n in visible.values()}


def category_get_node(*, slug: str, include_inactive: bool = False) -> CategoryNode:
    """A category with its sub-tree; customers see only active ones. Raises `not_found` (404)."""
    forest = category_forest(active_only=not include_inactive)
    node = forest.by_slug.get(slug)
    if node is None:
        raise NotFound("Category not found.")
    return node


def category_descendant_ids(*, slug: str) -> list[int] | None:
    """The ids of the category a customer may see under this slug and of every visible category below
    it, to any depth; None when there is no such category (unknown, inactive, or under an inactive
    ancestor). One query over four narrow columns, so it stays cheap enough for every list request."""
    rows = Category.objects.order_by().values_list("id", "parent_id", "slug", "is_active")
    parents: dict[int, int | None] = {}
    children: dict[int | None, list[int]] = {}
    active: dict[int, bool] = {}
    start = None
    for category_id, parent_id, category_slug, is_active in rows:
        parents[category_id] = parent_id
        children.setdefault(parent_id, []).append(category_id)
        active[category_id] = is_active
        if category_slug == slug:
            start = category_id
    if start is None:
        return None
    node, seen = start, set()
    while node is not None and node not in seen:  # the category and each ancestor must be active
        if not active[node]:
            return None
        seen.add(node)
        node = parents[node]
    ids, stack = [], [start]
    while stack:
        current = stack.pop()
        ids.append(current)
        stack.extend(child for child in children.get(current, ()) if active[child])
    return ids


# --- Products ----------------------------------------------------------------------------------


# The list and the detail read `.values()` rows, never model instances: building instances (and
# Django's prefetch machinery) cost more than the queries themselves. serializers.product_dict turns
# a row into the API shape.
PRODUCT_ROW_FIELDS = (
    "id",
    "name",
    "slug",
    "sku",
    "price",
    "price_max",
    "variant_count",
    "stock",
    "rating_avg",
    "rating_count",
    "is_featured",
    "is_active",
    "created_at",
    "category_id",
    "category__name",
    "category__slug",
)
IMAGE_ROW_FIELDS = ("id", "product_id", "image", "external_url", "alt_text", "position")
# What the detail shows of a variant (serializers.variant_dict), nothing more: the detail reads
# every variant on sale.
VARIANT_ROW_FIELDS = ("id", "sku", "name", "price", "stock", "options", "image_id")


def product_list(*, include_inactive: bool = False) -> QuerySet[Product]:
    """Products newest first, to filter and order; customers see active ones only. Count it as it is
    (no join), then read the page through `product_rows`."""
    qs = Product.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("-created_at", "-id")


def product_rows(*, queryset: QuerySet[Product]) -> QuerySet:
    """The `PRODUCT_ROW_FIELDS` rows of these products (the category joined), e.g. of one page."""
    return queryset.values(*PRODUCT_ROW_FIELDS)


def product_rows_in_order(*, product_ids: list[int]) -> list[dict]:
    """The `PRODUCT_ROW_FIELDS` rows of these products, in the order of `product_ids` (a page whose
    order another query decided); no query for an empty page."""
    if not product_ids:
        return []
    rows = {row["id"]: row for row in product_rows(queryset=Product.objects.filter(pk__in=product_ids).order_by())}
    return [rows[product_id] for product_id in product_ids]


def product_get(*, product_id: int, include_inactive: bool = False) -> dict:
    """A product row for display, with `description` (one query by primary key, no ORDER BY).
    Customers never see an inactive one: `not_found` (404)."""
    qs = Product.objects.filter(pk=product_id)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    try:
        return qs.values(*PRODUCT_ROW_FIELDS, "description", "option_names").get()
    except Product.DoesNotExist:
        raise NotFound("Product not found.") from None


def product_images_by_id(*, product_ids: list[int]) -> dict[int, list[dict]]:
    """The images of these products (`IMAGE_ROW_FIELDS` rows in gallery order), keyed by product id,
    in one query; no query at all for an empty page."""
    images: dict[int, list[dict]] = {product_id: [] for product_id in product_ids}
    if product_ids:
        rows = ProductImage.objects.filter(product_id__in=product_ids).order_by("position", "id")
        for row in rows.values(*IMAGE_ROW_FIELDS):
            images[row["product_id"]].append(row)
    return images


def product_variant_rows(*, product_id: int, include_inactive: bool = False) -> list[dict]:
    """The variants of a product (`VARIANT_ROW_FIELDS` rows, in position order) in one query;
    customers see the active ones only."""
    qs = ProductVariant.objects.filter(product_id=product_id)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("position", "id").values(*VARIANT_ROW_FIELDS))


def product_variant_list(*, product: Product) -> QuerySet[ProductVariant]:
    """Every variant of a product, active or not, in position order (staff)."""
    return ProductVariant.objects.filter(product=product).select_related("image").order_by("position", "id")


def product_variant_get(*, product: Product, variant_id: int) -> ProductVariant:
    """A variant of this product; one of another product is `not_found` (404) like an unknown one."""
    variant = product_variant_list(product=product).filter(pk=variant_id).first()
    if variant is None:
        raise NotFound("Variant not found.")
    return variant


def product_get_visible(*, product_id: int, include_inactive: bool = False) -> Product:
    """The Product instance (no joins) when the requester may see it; `not_found` (404) otherwise."""
    qs = Product.objects.filter(pk=product_id)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    product = qs.first()
    if product is None:
        raise NotFound("Product not found.")
    return product


def variant_low_stock_list(*, threshold: int) -> QuerySet[ProductVariant]:
    """Active variants of active products with at most `threshold` units left, emptiest first."""
    return (
        ProductVariant.objects.filter(is_active=True, product__is_active=True, stock__lte=threshold)
        .select_related("product")
        .order_by("stock", "product__name", "position", "id")
    )


def stock_movement_list(*, product: Product) -> QuerySet[StockMovement]:
    """A product's stock adjustments, newest first, with who made them."""
    return StockMovement.objects.filter(product=product).select_related("actor").order_by("-created_at", "-id")


# --- Reviews -----------------------------------------------------------------------------------


def _verified_purchase():
    return Exists(
        OrderItem.objects.filter(
            order__user_id=OuterRef("user_id"),
            product_id=OuterRef("product_id"),
            order__status__in=ORDER_SALE_STATUSES,
        )
    )


def review_list(*, product: Product) -> QuerySet[Review]:
    """Visible reviews of a product, newest first, each with its author and `verified_purchase`
    (the author has a paid, shipped or delivered order containing the product)."""
    return (
        Review.objects.filter(product=product, is_visible=True)
        .select_related("user")
        .annotate(verified_purchase=_verified_purchase())
        .order_by("-created_at", "-id")
    )


def review_get_annotated(*, review_id: int) -> Review:
    return Review.objects.select_related("user").annotate(verified_purchase=_verified_purchase()).get(pk=review_id)


def review_get_for_author(*, product: Product, review_id: int, user) -> Review:
    """The user's own review of this product. Someone else's review is `not_found` (404), like an unknown one."""
    review = Review.objects.filter(pk=review_id, product=product, user=user).first()
    if review is None:
        raise NotFound("Review not found.")
    return review


# --- Wishlist ----------------------------------------------------------------------------------


def wishlist_list(*, user) -> QuerySet[WishlistItem]:
    """The user's wishlist, newest first, with each product's summary; inactive products are left out
    (customers cannot see them)."""
    return (
        WishlistItem.objects.filter(user=user, product__is_active=True)
        .select_related("product", "product__category")
        .prefetch_related(Prefetch("product__images", queryset=ProductImage.objects.order_by("position", "id")))
        .order_by("-created_at", "-id")
    )


def wishlist_item_get(*, user, item_id: int) -> WishlistItem:
    item = wishlist_list(user=user).filter(pk=item_id).first()
    if item is None:
        raise NotFound("Wishlist item not found.")
    return item
