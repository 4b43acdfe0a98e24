from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


class Category(models.Model):
    """A node of the category tree (nested to any depth)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(
        max_length=140, unique=True, error_messages={"unique": "A category with this slug already exists."}
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "name", "id"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=220, unique=True, error_messages={"unique": "A product with this slug already exists."}
    )
    sku = models.CharField(
        max_length=64, unique=True, error_messages={"unique": "A product with this SKU already exists."}
    )
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    stock = models.IntegerField(default=0)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    is_active = models.BooleanField(default=True)
    is_featured = models.BooleanField(default=False)
    # Kept up to date by the review services, so lists can show and order by rating without a join.
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, default=Decimal("0.00"))
    rating_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gt=0),
                name="product_price_positive",
                violation_error_message="Price must be positive (more than 0).",
            ),
            models.CheckConstraint(
                condition=Q(stock__gte=0),
                name="product_stock_non_negative",
                violation_error_message="Stock cannot be negative.",
            ),
        ]
        indexes = [
            models.Index(fields=["is_active", "-created_at"], name="product_active_created_idx"),
            models.Index(fields=["is_active", "price"], name="product_active_price_idx"),
            models.Index(fields=["is_active", "name"], name="product_active_name_idx"),
            models.Index(fields=["is_active", "-rating_avg"], name="product_active_rating_idx"),
            models.Index(fields=["category", "is_active"], name="product_category_active_idx"),
            # The category filter with a price band: its count is an index-only scan of the active rows.
            models.Index(
                fields=["category", "price"], condition=Q(is_active=True), name="product_active_cat_price_idx"
            ),
            models.Index(fields=["is_featured", "is_active"], name="product_featured_idx"),
            models.Index(fields=["stock"], name="product_stock_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class StockMovement(models.Model):
    """One signed change of a product's stock made by staff ("+20 received", "-2 damaged"), with the
    stock it left. Stock is never written as a value read earlier: see products.services.product_stock_adjust."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_movements")
    delta = models.IntegerField()
    reason = models.CharField(max_length=200)
    stock_after = models.IntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(delta=0),
                name="stock_movement_delta_nonzero",
                violation_error_message="A stock adjustment must add or remove at least one unit.",
            ),
            models.CheckConstraint(
                condition=Q(stock_after__gte=0),
                name="stock_movement_stock_after_non_negative",
                violation_error_message="A stock adjustment cannot leave the stock below 0.",
            ),
        ]
        indexes = [models.Index(fields=["product", "-created_at"], name="stock_movement_product_idx")]

    def __str__(self):
        return f"{self.delta:+d} {self.product_id} ({self.reason})"


def product_image_path(instance, filename):
    return f"products/{instance.product_id}/{filename}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=product_image_path, blank=True)
    # An absolute URL for images that live elsewhere (the demo catalog's offline-safe images use `image`).
    external_url = models.URLField(blank=True)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.alt_text or f"Image {self.pk} of {self.product_id}"


class Review(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    is_visible = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "user"],
                name="review_one_per_user_product",
                violation_error_message="This customer has already reviewed this product.",
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5),
                name="review_rating_1_5",
                violation_error_message="A rating is from 1 to 5 stars.",
            ),
        ]
        indexes = [
            models.Index(fields=["product", "is_visible", "-created_at"], name="review_product_visible_idx"),
        ]

    def __str__(self):
        return f"{self.rating}/5 by {self.user_id} on {self.product_id}"


class WishlistItem(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wishlist_items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="wishlisted_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "product"],
                name="wishlist_unique_user_product",
                violation_error_message="This product is already on this customer's wishlist.",
            ),
        ]

    def __str__(self):
        return f"{self.user_id} ♥ {self.product_id}"
