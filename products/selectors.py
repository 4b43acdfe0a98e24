"""Catalog reads. Querysets declare their joins once, so the number of queries does not grow with the page."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from novacart.exceptions import NotFound

from .models import Category, Product, ProductImage, Review, WishlistItem

VERIFIED_PURCHASE_STATUSES = ("PAID", "SHIPPED", "DELIVERED")


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

    def is_visible(self, node: CategoryNode) -> bool:
        """Active, and every ancestor active too (a hidden parent hides its whole subtree)."""
        while node is not None:
            if not node.is_active:
                return False
            node = self.nodes.get(node.parent) if node.parent is not None else None
        return True

    def descendant_ids(self, node: CategoryNode) -> list[int]:
        """The node's id and the ids of all categories below it, to any depth."""
        ids, stack = [], [node]
        while stack:
            current = stack.pop()
            ids.append(current.id)
            stack.extend(current.children)
        return ids


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


# --- Products ----------------------------------------------------------------------------------


def _images_prefetch() -> Prefetch:
    return Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))


def product_queryset(*, include_inactive: bool = False) -> QuerySet[Product]:
    """Products with their category and images: one query for the page, one for all its images."""
    qs = Product.objects.select_related("category").prefetch_related(_images_prefetch())
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs


def product_get(*, product_id: int, include_inactive: bool = False) -> Product:
    """A product for display. Customers never see an inactive one: `not_found` (404)."""
    product = product_queryset(include_inactive=include_inactive).filter(pk=product_id).first()
    if product is None:
        raise NotFound("Product not found.")
    return product


def product_get_visible_id(*, product_id: int, include_inactive: bool = False) -> Product:
    """The bare product row (no joins) when the requester may see it; `not_found` (404) otherwise."""
    qs = Product.objects.filter(pk=product_id)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    product = qs.first()
    if product is None:
        raise NotFound("Product not found.")
    return product


def product_low_stock_list(*, threshold: int) -> QuerySet[Product]:
    """Active products with at most `threshold` units left, emptiest first."""
    return product_queryset().filter(stock__lte=threshold).order_by("stock", "name", "id")


# --- Reviews -----------------------------------------------------------------------------------


def _verified_purchase():
    from orders.models import OrderItem

    return Exists(
        OrderItem.objects.filter(
            order__user_id=OuterRef("user_id"),
            product_id=OuterRef("product_id"),
            order__status__in=VERIFIED_PURCHASE_STATUSES,
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
