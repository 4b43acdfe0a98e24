"""Staff screens for the catalog. Saves and actions go through products.services (which keep slugs,
ratings and the catalog cache right); the admin never writes catalog rows on its own.

Who may do what is `novacart.permissions`: every action names the permission it needs (a model
permission, or a `has_<name>_permission` asking `user_has`), so its button is hidden from whoever lacks
it and a forged post is refused by Django's action form.

Variants are edited inline on the product's page, through `variant_create` / `variant_update` only
(VariantInlineFormSet). The formset's clean() checks the rules it can see (option names, one variant per
combination, free SKUs, one variant left on sale) so every mistake shows at once as a form error; the
services stay the final authority, and a refusal only they can see (a colleague's write since) rolls the
whole save back and shows the page again with it as a form error (LateRefusal)."""

import json
import logging

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from novacart.admin_base import ActionSelectionGuard, ReadOnlyModelAdmin, money
from novacart.exceptions import ServiceError
from novacart.permissions import Perm, user_has, user_has_any

from . import services
from .error_codes import ProductErrorCode
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
from .serializers import image_url

logger = logging.getLogger(__name__)

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


class LateRefusal(Exception):
    """A service refused a save the forms had passed: a rule only it checks, or a colleague's write
    since the page was loaded. Raised out of the admin's transaction (Django's changeform_view wraps the
    save in one), so everything the save wrote rolls back; ProductAdmin then shows the page again with
    the refusal as an error on the form it belongs to (`prefix` None: the product's form, else the
    formset with that prefix and its form `index`)."""

    def __init__(self, error: ServiceError, *, prefix: str | None = None, index: int | None = None):
        super().__init__(str(error))
        self.error, self.prefix, self.index = error, prefix, index


_LATE_REFUSAL = "_novacart_late_refusal"  # the request attribute that carries it to the second showing


def _late_refusal_for(request, prefix: str | None) -> LateRefusal | None:
    refusal = getattr(request, _LATE_REFUSAL, None)
    return refusal if refusal is not None and refusal.prefix == prefix else None


def _add_refusal_to(form, error: ServiceError) -> None:
    attr = error.errors[0].attr
    form.add_error(attr if attr in form.fields else None, str(error))


def price_range(product: Product) -> str:
    """The product's price as a customer sees it: `20.00 USD`, or `20.00 – 24.00 USD` when its variants
    are priced differently."""
    if product.price_max and product.price_max > product.price:
        return f"{product.price:,} – {product.price_max:,} {settings.STORE_CURRENCY.upper()}"
    return money(product.price, settings.STORE_CURRENCY)


def has_several_variants(product: Product) -> bool:
    """More than one variant, on sale or not: the product's price is then derived (the lowest active
    variant's) and not typed in. ProductAdmin's queryset annotates `variants_total`."""
    total = getattr(product, "variants_total", None)
    if total is None:
        total = ProductVariant.objects.filter(product_id=product.pk).count() if product.pk else 0
    return total > 1


def format_options(options: dict, option_names=()) -> str:
    """{"Size": "M", "Colour": "Red"} as staff type it: `Size=M, Colour=Red`, in the product's option order."""
    ordered = [name for name in option_names if name in options] + [
        name for name in options if name not in option_names
    ]
    return ", ".join(f"{name}={options[name]}" for name in ordered)


OPTIONS_HELP = (
    'Name=Value pairs separated by commas, in the product’s option order: "Size=M, Colour=Red" (or a JSON object, '
    '{"Size": "M"}, for a value with a comma). Every variant of a product names the same options; leave empty for a '
    "product sold in one form. To sell a one-form product in sizes, give its variant its size and add the others."
)


class VariantOptionsField(forms.CharField):
    """A variant's options typed as `Size=M, Colour=Red` (or as a JSON object), cleaned to a dict. The
    service checks the rest (lengths, how many options)."""

    syntax_error = 'Write the options as Name=Value pairs separated by commas, e.g. "Size=M, Colour=Red".'

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", OPTIONS_HELP)
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 24, "placeholder": "Size=M, Colour=Red"}))
        super().__init__(**kwargs)
        self.option_names: list[str] = []  # the product's, for the order they are shown in

    def prepare_value(self, value):
        return format_options(value, self.option_names) if isinstance(value, dict) else value

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        text = (value or "").strip()
        if not text:
            return {}
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise ValidationError('Not a JSON object of names to values, e.g. {"Size": "M"}.', code="invalid")
            return parsed
        options: dict[str, str] = {}
        for part in text.split(","):
            if not part.strip():
                continue
            name, equals, option_value = part.partition("=")
            name, option_value = name.strip(), option_value.strip()
            if not equals or not name or not option_value:
                raise ValidationError(self.syntax_error, code="invalid")
            if name in options:
                raise ValidationError(f"The option {name!r} is given twice.", code="invalid")
            options[name] = option_value
        return options

    def has_changed(self, initial, data):
        # The same options in another order, or typed with other spaces, are no change.
        try:
            return self.to_python(initial or {}) != self.to_python(data)
        except ValidationError:
            return True


class VariantInlineForm(forms.ModelForm):
    options = VariantOptionsField(label="Options")
    # Blank on a new variant: after the others.
    position = forms.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, help_text="Blank: after the others."
    )

    class Meta:
        model = ProductVariant
        fields = ["sku", "options", "price", "weight_grams", "is_active", "position", "image"]
        labels = {"sku": "SKU", "weight_grams": "Weight (g)", "is_active": "On sale"}


def _spelled(options: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in options.items()) or "no options"


class VariantInlineFormSet(forms.BaseInlineFormSet):
    """The variants of one product, written only through products.services: a new row is one
    `variant_create`, a changed row one `variant_update` of the fields that changed (never stock, which
    moves by adjustments; rows are never deleted: orders refer to them, deactivate instead). The writes
    run in this order, which clean() follows too: changes, then new variants, then deactivations (so a
    variant can be replaced by a new one in one save), all in one transaction."""

    late_refusal: LateRefusal | None = None  # set per request by VariantInline.get_formset

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._image_choices = None

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "image" in form.fields:
            # One of this product's images; the choices are read once for all the rows.
            field = form.fields["image"]
            field.queryset = ProductImage.objects.filter(product_id=self.instance.pk).order_by("position", "id")
            if self._image_choices is None:
                self._image_choices = list(field.choices)
            field.choices = self._image_choices
        if "options" in form.fields:
            form.fields["options"].option_names = list(self.instance.option_names or [])

    # --- What the save will do ---------------------------------------------------------------------

    def _plan(self) -> list[tuple[int, forms.Form, dict]]:
        """(index, form, data) per service call, in the order they run: `data` is the changed fields of an
        existing variant (variant_update) or a new variant's fields (variant_create)."""
        changes, creations, deactivations = [], [], []
        for index, form in enumerate(self.forms):
            if not form.has_changed():
                continue
            cleaned = getattr(form, "cleaned_data", None) or {}
            if index < self.initial_form_count():
                data = {
                    field: cleaned[field]
                    for field in form.changed_data
                    if field in services.VARIANT_WRITABLE_FIELDS and field in cleaned
                }
                if data.get("position", 0) is None:
                    del data["position"]  # emptied: stays where it is
                if data:
                    (deactivations if data.get("is_active") is False else changes).append((index, form, data))
            else:
                fields = ("sku", "price", "weight_grams", "options", "is_active", "position", "image")
                creations.append((index, form, {field: cleaned[field] for field in fields if field in cleaned}))
        return [*changes, *creations, *deactivations]

    def _is_new(self, index: int) -> bool:
        return index >= self.initial_form_count()

    # --- Validation ----------------------------------------------------------------------------------

    def clean(self):
        try:
            super().clean()  # among other things, a SKU given twice (which raises)
        finally:
            self._check_variant_rules()
            self._add_late_refusal()

    def _add_late_refusal(self) -> None:
        refusal = self.late_refusal
        if refusal is None:
            return
        if refusal.index is not None and refusal.index < len(self.forms):
            _add_refusal_to(self.forms[refusal.index], refusal.error)
        else:
            raise ValidationError(str(refusal.error))

    def _check_variant_rules(self) -> None:
        """The services' rules, run over the planned writes in their order against the product's
        variants as they are now: each error goes to its row, all of them at once."""
        product = self.instance
        current = {variant.pk: variant for variant in ProductVariant.objects.filter(product_id=product.pk)}
        keys = {pk: variant.options_key for pk, variant in current.items()}
        skus = {pk: variant.sku for pk, variant in current.items()}
        active = {pk: variant.is_active for pk, variant in current.items()}
        if len(current) == 1:
            [only] = current
            skus[only] = product.sku  # the product form's SKU goes to its one variant (product_save_from_admin)
        names = list(product.option_names or [])
        plan = self._plan()
        wanted_skus = {data["sku"].strip() for _index, _form, data in plan if data.get("sku")}
        taken_elsewhere = set(
            Product.objects.filter(sku__in=wanted_skus).exclude(pk=product.pk).values_list("sku", flat=True)
        ) | set(
            ProductVariant.objects.filter(sku__in=wanted_skus)
            .exclude(product_id=product.pk)
            .values_list("sku", flat=True)
        )
        count = len(current)
        for index, form, data in plan:
            new = self._is_new(index)
            pk = None if new else form.instance.pk
            if new:
                count += 1
                if count > settings.PRODUCT_MAX_VARIANTS:
                    form.add_error(None, f"A product has at most {settings.PRODUCT_MAX_VARIANTS} variants.")
                    continue
            only_variant = not new and count == 1
            if "options" in data:
                options = data["options"]
                if only_variant:
                    names = list(options)  # the only variant may redefine the product's options
                elif set(options) != set(names):
                    expected = ", ".join(names) if names else "no options"
                    form.add_error(
                        "options",
                        f"Every variant of this product names the same options ({expected}); "
                        f"got {', '.join(options) or 'none'}.",
                    )
                key = variant_options_key(options)
                if any(held == key for other, held in keys.items() if other != pk):
                    form.add_error(
                        "options",
                        f"The product already has a variant with {_spelled(options)} "
                        "(perhaps inactive: reactivate it instead).",
                    )
                keys[pk if pk is not None else f"new-{index}"] = key
            sku = (data.get("sku") or "").strip()
            if sku and "sku" not in form.errors:
                own_code = sku == product.sku and not only_variant
                if (
                    sku in taken_elsewhere
                    or own_code
                    or any(held == sku for other, held in skus.items() if other != pk)
                ):
                    form.add_error("sku", "A product with this SKU already exists.")
            if sku:
                skus[pk if pk is not None else f"new-{index}"] = sku
            if "is_active" in data:
                others_on_sale = any(on for other, on in active.items() if other != pk)
                if (
                    data["is_active"] is False
                    and not new
                    and product.is_active
                    and active.get(pk)
                    and not others_on_sale
                ):
                    form.add_error(
                        "is_active",
                        "This is the last variant on sale of an active product; add another variant or "
                        "deactivate the product first.",
                    )
                active[pk if pk is not None else f"new-{index}"] = data["is_active"]

    # --- Saving: the services only -------------------------------------------------------------------

    def save(self, commit=True):
        if not commit:
            raise ValueError("variants are saved through products.services, never left for the caller to save")
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        with transaction.atomic():
            for index, form, data in self._plan():
                try:
                    if self._is_new(index):
                        self.new_objects.append(services.variant_create(product=self.instance, **data))
                    else:
                        variant = services.variant_update(variant=form.instance, data=data)
                        self.changed_objects.append((variant, list(data)))
                except ServiceError as exc:
                    raise LateRefusal(exc, prefix=self.prefix, index=index) from exc
        return [*self.new_objects, *(variant for variant, _fields in self.changed_objects)]

    def save_new(self, form, commit=True):
        raise NotImplementedError("variants are created by products.services.variant_create")

    def save_existing(self, form, obj, commit=True):
        raise NotImplementedError("variants are changed by products.services.variant_update")

    def delete_existing(self, obj, commit=True):
        raise NotImplementedError("variants are never deleted (orders refer to them): deactivate them")


class VariantInline(admin.TabularInline):
    """The product's variants, every one (on sale or not), edited through the services. Stock is shown,
    never edited: it moves by adjustments, each variant's linked for staff who may make them. Whoever
    may change the product may change its variants; whoever may see it sees them."""

    model = ProductVariant
    form = VariantInlineForm
    formset = VariantInlineFormSet
    extra = 0
    can_delete = False
    fields = ["sku", "options", "name", "price", "weight_grams", "is_active", "position", "image", "stock"]
    ordering = ["position", "id"]
    verbose_name = "variant"
    verbose_name_plural = "variants"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("image")

    def get_fields(self, request, obj=None):
        stock = "stock_with_adjust_link" if user_has(request.user, Perm.ADJUST_STOCK) else "stock"
        return [stock if field == "stock" else field for field in self.fields]

    def get_readonly_fields(self, request, obj=None):
        return ["name", "stock", "stock_with_adjust_link"]

    def get_max_num(self, request, obj=None, **kwargs):
        return settings.PRODUCT_MAX_VARIANTS

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)  # a class of its own per call
        formset.late_refusal = _late_refusal_for(request, formset.get_default_prefix())
        return formset

    @admin.display(description="stock")
    def stock_with_adjust_link(self, obj):
        if obj is None or obj.pk is None:
            return "0 (adjust once saved)"
        url = reverse("admin:products_product_adjust_variant_stock", args=[obj.product_id, obj.pk])
        label = f"Adjust stock of {_variant_label(obj)}"
        return format_html('{} &nbsp; <a href="{}" aria-label="{}">Adjust…</a>', obj.stock, url, label)

    def has_view_permission(self, request, obj=None):
        return user_has_any(request.user, Perm.VIEW_PRODUCT, Perm.CHANGE_PRODUCT)

    def has_add_permission(self, request, obj=None):
        return user_has(request.user, Perm.CHANGE_PRODUCT)

    def has_change_permission(self, request, obj=None):
        return user_has(request.user, Perm.CHANGE_PRODUCT)

    def has_delete_permission(self, request, obj=None):
        return False  # orders refer to variants: deactivate instead


class ProductAdminForm(forms.ModelForm):
    """The product's change and add form. `late_refusal` is set per request by ProductAdmin.get_form."""

    late_refusal: LateRefusal | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "tax_class" in self.fields:
            self.fields["tax_class"].required = False
            self.fields["tax_class"].help_text = 'The tax rates it is charged at checkout; empty: "standard".'

    def clean_tax_class(self):
        return (self.cleaned_data.get("tax_class") or "").strip() or "standard"

    def clean(self):
        cleaned = super().clean()
        if self.late_refusal is not None:
            _add_refusal_to(self, self.late_refusal.error)
        return cleaned


class PriceRangeWidget(forms.Widget):
    """The list's price cell of a product with several variants: its range as text, no input (the price
    is derived from the variants; the field is disabled, so nothing posted is taken)."""

    def __init__(self, text: str = "", attrs=None):
        super().__init__(attrs)
        self.text = text

    def render(self, name, value, attrs=None, renderer=None):
        return format_html('<span class="price-range" title="Set on each variant">{}</span>', self.text)


class ProductListForm(forms.ModelForm):
    """A row of the product list: the price is an input on a product sold in one form, read-only text
    (its range) on a product with several variants."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "price" in self.fields and self.instance.pk and has_several_variants(self.instance):
            self.fields["price"].disabled = True
            self.fields["price"].widget = PriceRangeWidget(price_range(self.instance))


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
    list_display = [
        "thumbnail",
        "name",
        "sku",
        "category",
        "price",
        "variant_summary",
        "stock",
        "is_active",
        "is_featured",
        "rating_avg",
    ]
    list_display_links = ["name"]
    # Never stock: a list page's copy of it would overwrite what checkouts took since it loaded. The
    # price is an input only on products sold in one form (ProductListForm); with several variants it
    # is their range, set on each variant.
    list_editable = ["price"]
    list_filter = ["category", "is_active", "is_featured", StockLevelFilter]
    search_fields = ["name", "sku"]
    list_select_related = ["category"]
    readonly_fields = ["slug", "rating_avg", "rating_count", "created_at", "updated_at"]
    autocomplete_fields = ["category"]
    form = ProductAdminForm
    inlines = [VariantInline, ProductImageInline, StockMovementInline]
    actions = ["feature", "unfeature", "deactivate", "activate"]

    class Media:
        css = {"all": ["products/admin/products.css"]}

    def get_queryset(self, request):
        # The list's thumbnails: every product's images in one query, in gallery order; and how many
        # variants each has (on sale or not), in the same query as the products.
        images = Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
        variants_total = (
            ProductVariant.objects.filter(product_id=OuterRef("pk"))
            .order_by()
            .values("product_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .prefetch_related(images)
            .annotate(variants_total=Coalesce(Subquery(variants_total), Value(0)))
        )

    def get_list_display(self, request):
        if self.has_change_permission(request):
            return self.list_display  # the price is an input there
        return [("price_money" if name == "price" else name) for name in self.list_display]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=ProductListForm, **kwargs)

    @admin.display(description="image")
    def thumbnail(self, obj):
        images = list(obj.images.all())
        return thumbnail(images[0] if images else None, fallback_alt=obj.name)

    @admin.display(description="price", ordering="price")
    def price_money(self, obj):
        return price_range(obj)

    @admin.display(description="price")
    def price_range(self, obj):
        return format_html(
            '{} &nbsp; <span class="help">(from the variants: set each variant\'s price below)</span>', price_range(obj)
        )

    @admin.display(description="variants", ordering="variant_count")
    def variant_summary(self, obj):
        """How many are on sale, and how many more are not: `3`, `2 (+1 off sale)`."""
        off_sale = max(getattr(obj, "variants_total", obj.variant_count) - obj.variant_count, 0)
        return f"{obj.variant_count} (+{off_sale} off sale)" if off_sale else str(obj.variant_count)

    def get_inlines(self, request, obj=None):
        # A new product is created in one form (its SKU, price and opening stock on this form);
        # variants are added on its change page.
        return self.inlines if obj is not None else [ProductImageInline]

    def get_readonly_fields(self, request, obj=None):
        # A new product is given its opening stock; afterwards stock moves only by adjustments, and
        # the link to make one is shown only to staff who may. With several variants the price is
        # theirs (the lowest on sale), shown and not typed in.
        if obj is None:
            return self.readonly_fields
        stock = "stock_with_adjust_link" if user_has(request.user, Perm.ADJUST_STOCK) else "stock"
        price = ["price_range"] if has_several_variants(obj) else []
        return [*self.readonly_fields, *price, stock]

    def get_exclude(self, request, obj=None):
        # Derived from the variants (products.services.product_refresh_derived), never typed in.
        derived = ["price_max", "variant_count", "option_names"]
        if obj is None:
            return derived
        return [*derived, "stock", *(["price"] if has_several_variants(obj) else [])]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if "price_range" in fields:  # where the price input would be
            fields.remove("price_range")
            fields.insert(fields.index("description") + 1 if "description" in fields else len(fields), "price_range")
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)  # a class of its own per call
        form.late_refusal = _late_refusal_for(request, None)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except LateRefusal as refusal:
            # Django's transaction around the save has rolled back all of it. Shown again from what was
            # posted, with the refusal on its form: the forms are then invalid, so nothing is written.
            logger.info(
                "product admin save refused by a service, nothing written product_id=%s code=%s: %s",
                object_id,
                refusal.error.code,
                refusal.error,
            )
            setattr(request, _LATE_REFUSAL, refusal)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except LateRefusal as refusal:  # a list edit: all rows rolled back by Django's transaction
            logger.info(
                "product list edit refused by a service, nothing written code=%s: %s", refusal.error.code, refusal.error
            )
            self.message_user(request, f"Nothing was saved: {refusal.error}", level=messages.ERROR)
            return redirect(request.get_full_path())

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
        try:
            services.product_save_from_admin(product=obj, changed=form.changed_data)
        except ServiceError as exc:  # e.g. a SKU a variant took since the form was checked
            raise LateRefusal(exc) from exc

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
