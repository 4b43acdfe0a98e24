from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
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
    # Which tax rate applies at checkout (orders.TaxRate.tax_class): "standard" unless the product is
    # taxed otherwise (e.g. "reduced" for books or food where the destination has such a rate).
    tax_class = models.CharField(max_length=32, default="standard")
    # Kept up to date by the review services, so lists can show and order by rating without a join.
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, default=Decimal("0.00"))
    rating_count = models.PositiveIntegerField(default=0)
    # Derived from the active variants by products.services.product_refresh_derived, never set from
    # anywhere else: `price` is the lowest ("from") price, `price_max` the highest, `stock` the sum,
    # `variant_count` how many are on sale. Kept on the row for the list, its filters and its indexes.
    price_max = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    variant_count = models.PositiveIntegerField(default=0)
    # The option names every variant of the product gives a value for, in display order ("Size",
    # "Colour"); empty for a product sold in one form.
    option_names = models.JSONField(default=list, blank=True)
    # What `?search=` matches on PostgreSQL, written only by the database's own triggers (migration
    # 0009, products/search.py); null on SQLite, which searches with LIKE.
    search_vector = SearchVectorField(null=True, editable=False)
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


def variant_options_key(options: dict) -> str:
    """One spelling of a combination of option values, whatever the order of the keys:
    {"Size": "M", "Colour": "Red"} is "Colour=Red|Size=M". Unique per product in the database."""
    return "|".join(f"{name}={options[name]}" for name in sorted(options))


class ProductVariant(models.Model):
    """One form of a product that is sold and stocked on its own (a T-shirt in size M, red): its own
    SKU, price, stock and weight. Every product has at least one; a product sold in one form has
    exactly one, without options. Written only by products.services (variant_*), which keeps the
    product's derived fields in step."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(
        max_length=64, unique=True, error_messages={"unique": "A variant with this SKU already exists."}
    )
    # The option values in the product's option order ("M / Red"); empty without options.
    name = models.CharField(max_length=200, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    stock = models.IntegerField(default=0)
    weight_grams = models.PositiveIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True)
    options_key = models.CharField(max_length=700, blank=True, editable=False)
    image = models.ForeignKey("ProductImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="variants")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gt=0),
                name="variant_price_positive",
                violation_error_message="Price must be positive (more than 0).",
            ),
            models.CheckConstraint(
                condition=Q(stock__gte=0),
                name="variant_stock_non_negative",
                violation_error_message="Stock cannot be negative.",
            ),
            models.UniqueConstraint(
                fields=["product", "options_key"],
                name="variant_unique_options",
                violation_error_message="The product already has a variant with these options.",
            ),
        ]
        indexes = [models.Index(fields=["product", "is_active", "position"], name="variant_product_active_idx")]

    def __str__(self):
        return f"{self.sku} ({self.name})" if self.name else self.sku

    def save(self, *args, **kwargs):
        self.options_key = variant_options_key(self.options or {})
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "options" in update_fields:
            kwargs["update_fields"] = {*update_fields, "options_key"}
        super().save(*args, **kwargs)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class StockMovement(models.Model):
    """One signed change of a variant's stock made by staff ("+20 received", "-2 damaged"), with the
    stock it left. Stock is never written as a value read earlier: see products.services.variant_stock_adjust."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_movements")
    # Null only on rows recorded before variants existed and not matched by the migration (none are).
    variant = models.ForeignKey(
        ProductVariant, null=True, blank=True, on_delete=models.CASCADE, related_name="stock_movements"
    )
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
