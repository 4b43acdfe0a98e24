"""Staff screens for the catalog. Saves and actions go through products.services (which keep slugs,
ratings and the catalog cache right); the admin never writes catalog rows on its own.

Who may do what is `novacart.permissions`: every action names the permission it needs (a model
permission, or a `has_<name>_permission` asking `user_has`), so its button is hidden from whoever lacks
it and a forged post is refused by Django's action form."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from novacart.admin_base import ActionSelectionGuard, ReadOnlyModelAdmin, money
from novacart.exceptions import ServiceError
from novacart.permissions import Perm, user_has

from . import services
from .error_codes import ProductErrorCode
from .models import Category, Product, ProductImage, ProductVariant, Review, StockMovement, WishlistItem
from .serializers import image_url

THUMBNAIL_SIZE = 48  # pixels, square: enough to tell products apart in a list


def thumbnail(image: ProductImage | None, *, fallback_alt: str = "") -> str:
    """A small <img> of a product image, from the configured media storage's URL (or the image's
    external URL), with its alt text; "-" when there is no image."""
    if image is None or not (image.image or image.external_url):
        return "-"
    return format_html(
        '<img src="{}" alt="{}" class="product-thumbnail" width="{}" height="{}" loading="lazy">',
        image_url(image),
        image.alt_text or fallback_alt,
        THUMBNAIL_SIZE,
        THUMBNAIL_SIZE,
    )


class StockLevelFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock_level"

    def lookups(self, request, model_admin):
        return [
            ("in", "In stock"),
            ("low", f"Low (1-{settings.LOW_STOCK_THRESHOLD})"),
            ("out", "Out of stock"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "in":
            return queryset.filter(stock__gt=0)
        if value == "low":
            return queryset.filter(stock__gt=0, stock__lte=settings.LOW_STOCK_THRESHOLD)
        if value == "out":
            return queryset.filter(stock__lte=0)
        return queryset


class CategoryAdminForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "slug", "parent", "description", "is_active", "sort_order"]

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        try:
            services.category_check_parent(category=self.instance, parent=parent)
        except ServiceError as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from exc
        return parent


@admin.register(Category)
class CategoryAdmin(ActionSelectionGuard, admin.ModelAdmin):
    """Categories are deleted only while empty (a mistake, a merge). One that still holds products or
    sub-categories is refused with what it holds and what to do: move them, or deactivate the category,
    which is how a category is retired (it leaves the tree; its products and their orders stay)."""

    form = CategoryAdminForm
    list_display = ["name", "slug", "parent", "is_active", "sort_order"]
    list_filter = ["is_active", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["parent"]
    actions = ["delete_selected", "deactivate", "activate"]

    def save_model(self, request, obj, form, change):
        services.category_save_from_admin(category=obj)

    def delete_view(self, request, object_id, extra_context=None):
        # Before Django's confirmation page, which would list the protected products one by one.
        category = self.get_object(request, unquote(object_id))
        if category is not None and self.has_delete_permission(request, category):
            try:
                services.category_check_deletable(category=category)
                return super().delete_view(request, object_id, extra_context)
            except ServiceError as exc:  # not empty, or filled between the check and the delete
                self.message_user(request, str(exc), level=messages.ERROR)
                return redirect("admin:products_category_change", category.pk)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.category_delete(category=obj)

    def delete_queryset(self, request, queryset):
        # All or none: a category that filled up meanwhile rolls the others back too.
        with transaction.atomic():
            for category in queryset:
                services.category_delete(category=category)

    @admin.action(permissions=["delete"], description="Delete selected categories")
    def delete_selected(self, request, queryset):
        refusals = []
        for category in queryset:
            try:
                services.category_check_deletable(category=category)
            except ServiceError as exc:
                refusals.append(str(exc))
        try:
            if not refusals:
                return django_delete_selected(self, request, queryset)  # its confirmation page, then delete
        except ServiceError as exc:
            refusals.append(str(exc))
        for refusal in refusals:
            self.message_user(request, refusal, level=messages.ERROR)
        self.message_user(request, "Nothing was deleted.", level=messages.WARNING)
        return None

    @admin.action(permissions=["change"], description="Deactivate selected categories (hide from customers)")
    def deactivate(self, request, queryset):
        changed = services.categories_set_active(category_ids=queryset.values_list("pk", flat=True), is_active=False)
        self.message_user(request, f"{changed} category(ies) deactivated; their products stay in the catalog.")

    @admin.action(permissions=["change"], description="Re-activate selected categories")
    def activate(self, request, queryset):
        changed = services.categories_set_active(category_ids=queryset.values_list("pk", flat=True), is_active=True)
        self.message_user(request, f"{changed} category(ies) re-activated.")


class ProductImageInlineForm(forms.ModelForm):
    # A URL typed without a scheme is taken as https (Django 6's default; 5.2 warns about http).
    external_url = forms.URLField(label="External URL", required=False, max_length=200, assume_scheme="https")

    class Meta:
        model = ProductImage
        fields = ["image", "external_url", "alt_text", "position"]

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and hasattr(image, "seek") and "image" in self.changed_data:
            try:
                services.product_image_validate(upload=image)
            except ServiceError as exc:
                raise forms.ValidationError(str(exc), code=exc.code) from exc
        return image


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageInlineForm
    extra = 0
    fields = ["preview", "image", "external_url", "alt_text", "position"]
    readonly_fields = ["preview"]

    @admin.display(description="preview")
    def preview(self, obj):
        return thumbnail(obj if obj.pk else None, fallback_alt=f"Image of {obj.product}" if obj.product_id else "")


class StockAdjustmentForm(forms.Form):
    delta = forms.IntegerField(
        label="Units",
        min_value=-1_000_000_000,
        max_value=1_000_000_000,
        help_text="+20 when 20 arrive, -2 when 2 are damaged or lost.",
    )
    reason = forms.CharField(max_length=200, help_text="e.g. received, damaged, stock count")
    # The product's latest movement when the page was shown: a resent form is refused, not applied twice.
    seen_movement = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**63 - 1)

    def clean_delta(self):
        if self.cleaned_data["delta"] == 0:
            raise forms.ValidationError("Enter a number of units other than 0.")
        return self.cleaned_data["delta"]


class StockMovementInline(admin.TabularInline):
    model = StockMovement
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["created_at", "variant_label", "delta", "reason", "stock_after", "actor"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name_plural = "stock movements (staff adjustments)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant", "actor")

    @admin.display(description="variant")
    def variant_label(self, obj):
        return _variant_label(obj.variant) if obj.variant_id else "-"

    def has_add_permission(self, request, obj=None):
        return False


def _variant_label(variant: ProductVariant) -> str:
    """`M / Red (TEE-M-RED)`, or the SKU of a variant without options."""
    return f"{variant.name} ({variant.sku})" if variant.name else variant.sku


def _adjusted_name(product: Product, variant: ProductVariant) -> str:
    """What an adjustment's page and message call what it moves: `Blue Mug`, or `Tee – M / Red`."""
    return f"{product.name} – {variant.name}" if variant.name else product.name


@admin.register(Product)
class ProductAdmin(ActionSelectionGuard, admin.ModelAdmin):
    # On a phone (products/admin/products.css) the list keeps name, price and stock.
    list_display = ["thumbnail", "name", "sku", "category", "price", "stock", "is_active", "is_featured", "rating_avg"]
    list_display_links = ["name"]
    # Never stock: a list page's copy of it would overwrite what checkouts took since it loaded.
    list_editable = ["price"]
    list_filter = ["category", "is_active", "is_featured", StockLevelFilter]
    search_fields = ["name", "sku"]
    list_select_related = ["category"]
    readonly_fields = ["slug", "rating_avg", "rating_count", "created_at", "updated_at"]
    autocomplete_fields = ["category"]
    inlines = [ProductImageInline, StockMovementInline]
    actions = ["feature", "unfeature", "deactivate", "activate"]

    class Media:
        css = {"all": ["products/admin/products.css"]}

    def get_queryset(self, request):
        # The list's thumbnails: every product's images in one query, in gallery order.
        images = Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
        return super().get_queryset(request).prefetch_related(images)

    def get_list_display(self, request):
        if self.has_change_permission(request):
            return self.list_display  # the price is an input there
        return [("price_money" if name == "price" else name) for name in self.list_display]

    @admin.display(description="image")
    def thumbnail(self, obj):
        images = list(obj.images.all())
        return thumbnail(images[0] if images else None, fallback_alt=obj.name)

    @admin.display(description="price", ordering="price")
    def price_money(self, obj):
        return money(obj.price, settings.STORE_CURRENCY)

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else [ProductImageInline]

    def get_readonly_fields(self, request, obj=None):
        # A new product is given its opening stock; afterwards stock moves only by adjustments, and
        # the link to make one is shown only to staff who may.
        if obj is None:
            return self.readonly_fields
        stock = "stock_with_adjust_link" if user_has(request.user, Perm.ADJUST_STOCK) else "stock"
        return [*self.readonly_fields, stock]

    def get_exclude(self, request, obj=None):
        # Derived from the variants (products.services.product_refresh_derived), never typed in.
        derived = ["price_max", "variant_count", "option_names"]
        return [*derived, "stock"] if obj is not None else derived

    @admin.display(description="stock")
    def stock_with_adjust_link(self, obj):
        url = reverse("admin:products_product_adjust_stock", args=[obj.pk])
        return format_html('{} &nbsp; <a class="button" href="{}">Adjust stock…</a>', obj.stock, url)

    def get_urls(self):
        custom = [
            path(
                "<int:product_id>/adjust-stock/",
                self.admin_site.admin_view(self.adjust_stock_view),
                name="products_product_adjust_stock",
            ),
            path(
                "<int:product_id>/adjust-stock/<int:variant_id>/",
                self.admin_site.admin_view(self.adjust_stock_view),
                name="products_product_adjust_variant_stock",
            ),
        ]
        return custom + super().get_urls()

    def adjust_stock_view(self, request, product_id: int, variant_id: int | None = None):
        """Stock moves per variant. `<product>/adjust-stock/` is the form for a product sold in one form
        (its only variant) and, for a product with several, the list of its variants (on sale or not)
        with their stock to choose from; `<product>/adjust-stock/<variant>/` is one variant's form."""
        if not user_has(request.user, Perm.ADJUST_STOCK):
            raise PermissionDenied
        product = get_object_or_404(Product, pk=product_id)
        if variant_id is None:
            variant = services.product_single_variant(product_id=product.pk)
            if variant is None:
                return self._choose_variant_page(request, product)
        else:
            variant = get_object_or_404(ProductVariant, pk=variant_id, product_id=product.pk)
        form = StockAdjustmentForm(
            request.POST or None, initial={"seen_movement": services.variant_last_movement_id(variant_id=variant.pk)}
        )
        if request.method == "POST" and form.is_valid():
            try:
                movement = services.product_stock_adjust(
                    product_id=product.pk,
                    variant_id=variant.pk,
                    actor=request.user,
                    delta=form.cleaned_data["delta"],
                    reason=form.cleaned_data["reason"],
                    seen_movement_id=form.cleaned_data["seen_movement"],
                )
            except ServiceError as exc:
                if exc.code == ProductErrorCode.STOCK_CHANGED:
                    # Shown again with what is recorded now: submitting it once more is a new decision.
                    data = request.POST.copy()
                    data["seen_movement"] = services.variant_last_movement_id(variant_id=variant.pk)
                    form = StockAdjustmentForm(data)
                    form.is_valid()
                    form.add_error(None, str(exc))
                else:
                    form.add_error("delta", str(exc))
            else:
                self.message_user(
                    request,
                    f"Stock of {_adjusted_name(product, variant)}: {movement.delta:+d} ({movement.reason}), "
                    f"now {movement.stock_after}.",
                )
                return redirect("admin:products_product_change", product.pk)
        variant.refresh_from_db(fields=["stock"])  # what the form decides from (a refusal may be older)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Adjust stock: {_adjusted_name(product, variant)}",
            "product": product,
            "variant": variant,
            "several_variants": variant_id is not None and not services.product_single_variant(product_id=product.pk),
            "form": form,
        }
        return TemplateResponse(request, "admin/products/product/adjust_stock.html", context)

    def _choose_variant_page(self, request, product: Product):
        if request.method == "POST":  # a form from before the product had several variants
            self.message_user(
                request, "This product comes in several variants: choose the one to adjust.", level=messages.ERROR
            )
        variants = [
            (variant, reverse("admin:products_product_adjust_variant_stock", args=[product.pk, variant.pk]))
            for variant in ProductVariant.objects.filter(product_id=product.pk).order_by("position", "id")
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Adjust stock: {product.name}",
            "product": product,
            "variants": variants,
        }
        return TemplateResponse(request, "admin/products/product/adjust_stock_choose_variant.html", context)

    def has_delete_permission(self, request, obj=None):
        # Orders refer to products: deactivate instead of deleting.
        return False

    def save_model(self, request, obj, form, change):
        services.product_save_from_admin(product=obj, changed=form.changed_data)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.catalog_cache_bump()  # inline image changes

    @admin.action(permissions=["change"], description="Feature selected products")
    def feature(self, request, queryset):
        changed = services.products_set_featured(product_ids=queryset.values_list("pk", flat=True), is_featured=True)
        self.message_user(request, f"{changed} product(s) featured.")

    @admin.action(permissions=["change"], description="Unfeature selected products")
    def unfeature(self, request, queryset):
        changed = services.products_set_featured(product_ids=queryset.values_list("pk", flat=True), is_featured=False)
        self.message_user(request, f"{changed} product(s) unfeatured.")

    @admin.action(permissions=["change"], description="Deactivate selected products (hide from customers)")
    def deactivate(self, request, queryset):
        changed = services.products_set_active(product_ids=queryset.values_list("pk", flat=True), is_active=False)
        self.message_user(request, _set_active_message(changed, queryset.count(), "deactivated"))

    @admin.action(permissions=["change"], description="Re-activate selected products (show to customers)")
    def activate(self, request, queryset):
        changed = services.products_set_active(product_ids=queryset.values_list("pk", flat=True), is_active=True)
        self.message_user(request, _set_active_message(changed, queryset.count(), "re-activated"))


def _set_active_message(changed: int, selected: int, done: str) -> str:
    unchanged = selected - changed
    already = f" ({unchanged} already were)" if unchanged else ""
    return f"{changed} product(s) {done}{already}."


@admin.register(Review)
class ReviewAdmin(ActionSelectionGuard, admin.ModelAdmin):
    list_display = ["product", "user", "rating", "is_visible", "created_at"]
    list_filter = ["is_visible", "rating"]
    search_fields = ["product__name", "product__sku", "user__email", "comment"]
    list_select_related = ["product", "user"]
    readonly_fields = ["product", "user", "rating", "comment", "is_visible", "created_at", "updated_at"]
    actions = ["hide", "show"]

    def has_moderate_permission(self, request):
        return user_has(request.user, Perm.MODERATE_REVIEW)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # hide instead: the rating is recomputed by the service

    @admin.action(permissions=["moderate"], description="Hide selected reviews (not listed, not counted)")
    def hide(self, request, queryset):
        changed = services.reviews_set_visibility(review_ids=queryset.values_list("pk", flat=True), is_visible=False)
        self.message_user(request, f"{changed} review(s) hidden; ratings recomputed.")

    @admin.action(permissions=["moderate"], description="Show selected reviews")
    def show(self, request, queryset):
        changed = services.reviews_set_visibility(review_ids=queryset.values_list("pk", flat=True), is_visible=True)
        self.message_user(request, f"{changed} review(s) shown; ratings recomputed.")


@admin.register(WishlistItem)
class WishlistItemAdmin(ReadOnlyModelAdmin):
    list_display = ["user", "product", "created_at"]
    search_fields = ["user__email", "product__name", "product__sku"]
    list_select_related = ["user", "product"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyModelAdmin):
    """The record of every staff stock adjustment: read-only (adjust from the product's page)."""

    list_display = ["created_at", "product", "variant", "delta", "reason", "stock_after", "actor"]
    list_filter = ["created_at"]
    search_fields = ["product__name", "product__sku", "variant__sku", "reason"]
    list_select_related = ["product", "variant", "actor"]
