import math
from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timeuntil

from addresses.models import Address
from novacart.admin_base import ActionSelectionGuard, money
from novacart.permissions import Perm, user_has
from novacart.throttling import CacheUnavailable

from .models import SocialAccount, User
from .services import user_email_changed, user_revoke_all_tokens
from .throttles import SignInLimiter


class RevokingPasswordChangeForm(AdminPasswordChangeForm):
    """A password set by staff refuses the user's earlier tokens, like one the user changes or resets."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            user_revoke_all_tokens(user=user)
        return user


class AdminLoginForm(AdminAuthenticationForm):
    """The admin login under the same limit as the API login (users.throttles.SignInLimiter): one
    count of failed attempts per account and per client address, whichever door they came through."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many failed sign-in attempts for this account or from this address. Try again in %(wait)s.",
        "unavailable": "Signing in is unavailable for a moment (the limit on attempts cannot be checked). Try again "
        "shortly.",
    }

    def clean(self):
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email is None or not password:
            return super().clean()  # the required-field errors; no password is checked
        limiter = SignInLimiter(self.request, email=email)
        try:
            # Fails closed like the API's sign-in, but this is a Django page, not a DRF view: the
            # refusal is a form error (DRF's 503 exception would be a 500 here).
            return self._clean_within_limit(limiter)
        except CacheUnavailable:
            raise ValidationError(self.error_messages["unavailable"], code="unavailable") from None

    def _clean_within_limit(self, limiter):
        wait = limiter.admit()
        if wait is not None:
            now = timezone.now()
            minutes = timedelta(minutes=math.ceil(wait / 60))  # "1 minute", not "0 minutes", for 40 s
            raise ValidationError(
                self.error_messages["throttled"], code="throttled", params={"wait": timeuntil(now + minutes, now)}
            )
        try:
            return super().clean()
        except ValidationError:  # wrong password, inactive, or not staff: a failed admin login
            limiter.record_failure()
            raise


admin.site.login_form = AdminLoginForm


# The customer's page lists this many of their latest orders, and links to the order list for all.
RECENT_ORDERS = 10


class AddressInline(admin.TabularInline):
    """The customer's addresses, to look at; edits go through the address page (and its services,
    which keep the one-default rule)."""

    model = Address
    fields = ["full_name", "line1", "city", "postal_code", "country", "address_type", "is_default"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SocialAccountInline(admin.TabularInline):
    """The Google accounts that sign into this account: shown, never edited here (a link is made
    by signing in with Google, users.services.user_sign_in_with_google)."""

    model = SocialAccount
    extra = 0
    can_delete = False
    fields = readonly_fields = ["provider", "subject", "email", "created_at", "last_sign_in_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(ActionSelectionGuard, BaseUserAdmin):
    """Customers and staff. A customer's page shows their latest orders (each linking to its order
    page, and to the order list filtered to them) to staff who may see orders, and their addresses
    to staff who may see addresses."""

    change_password_form = RevokingPasswordChangeForm
    inlines = [AddressInline, SocialAccountInline]
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "email_verified", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "email_verified"]
    # Verified by the customer's link or by Google (users.services), not by a checkbox.
    readonly_fields = ["email_verified", "orders_summary"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "phone", "email_verified")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and user_has(request.user, Perm.VIEW_ORDER):
            fieldsets = (*fieldsets, ("Orders", {"fields": ("orders_summary",)}))
        return fieldsets

    def save_model(self, request, obj, form, change):
        previous_email = form.initial.get("email", "") if change else ""
        super().save_model(request, obj, form, change)
        if change and "email" in form.changed_data:
            user_email_changed(user=obj, previous_email=previous_email)

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []

    @admin.display(description="orders")
    def orders_summary(self, obj):
        # Through the reverse relation: users sits below orders in the app stack (CONTRIBUTING.md).
        count = obj.orders.count()
        if not count:
            return "No orders yet."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td class="nowrap">{}</td></tr>',
            (
                (
                    reverse("admin:orders_order_change", args=[order.pk]),
                    order.number,
                    date_format(timezone.localtime(order.created_at), "DATETIME_FORMAT"),
                    order.get_status_display(),
                    money(order.total, order.currency),
                )
                for order in obj.orders.order_by("-created_at", "-id")[:RECENT_ORDERS]
            ),
        )
        shown = f"the latest {RECENT_ORDERS} of {count}" if count > RECENT_ORDERS else f"{count}"
        return format_html(
            '<table class="customer-orders"><thead><tr><th>Number</th><th>Date</th><th>Status</th><th>Total</th>'
            '</tr></thead><tbody>{}</tbody></table><p>Showing {} order(s). <a href="{}?user__id__exact={}">'
            "All orders of this customer</a></p>",
            rows,
            shown,
            reverse("admin:orders_order_changelist"),
            obj.pk,
        )
