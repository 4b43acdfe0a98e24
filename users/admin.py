import math
from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.timesince import timeuntil

from .models import SocialAccount, User
from .services import user_revoke_all_tokens
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
    }

    def clean(self):
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email is None or not password:
            return super().clean()  # the required-field errors; no password is checked
        limiter = SignInLimiter(self.request, email=email)
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
class UserAdmin(BaseUserAdmin):
    change_password_form = RevokingPasswordChangeForm
    inlines = [SocialAccountInline]
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "email_verified", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "email_verified"]
    # Verified by the customer's link or by Google (users.services), not by a checkbox.
    readonly_fields = ["email_verified"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "phone", "email_verified")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
