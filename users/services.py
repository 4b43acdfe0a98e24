"""Account writes: registration, profile, passwords, logout."""

import logging

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import update_last_login
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from novacart.celery import enqueue_on_commit
from novacart.exceptions import ErrorItem, ValidationFailed

from .error_codes import UserErrorCode
from .tasks import send_password_reset_email

logger = logging.getLogger(__name__)
User = get_user_model()

# What a user may change about themselves (PATCH /api/auth/me/): not the e-mail, staff flags or dates.
PROFILE_FIELDS = ("first_name", "last_name", "phone")


def user_record_sign_in(*, user) -> None:
    """Records a sign-in: `last_login` is set, which also ends every password reset link made
    before it (Django's reset token hashes `last_login`). Every API sign-in calls this (/api/token/,
    /api/auth/login/, registration); the admin login reaches the same `update_last_login` through
    Django's `auth.login`. SimpleJWT's own update is off (UPDATE_LAST_LOGIN) so it is not done twice."""
    update_last_login(None, user)


def tokens_for_user(user) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "", phone: str = ""):
    """Creates a customer account. Raises `email_taken` when the address is already registered
    (case-insensitively) and Django's password validators' codes when the password is weak."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed(
            "A user with this e-mail address already exists.", code=UserErrorCode.EMAIL_TAKEN, attr="email"
        )
    candidate = User(email=email, first_name=first_name, last_name=last_name, phone=phone)
    _validate_password(password, candidate, attr="password")
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email, password=password, first_name=first_name, last_name=last_name, phone=phone
            )
    except IntegrityError as exc:  # a concurrent registration of the same address won the race
        raise ValidationFailed(
            "A user with this e-mail address already exists.", code=UserErrorCode.EMAIL_TAKEN, attr="email"
        ) from exc


def user_update_profile(*, user, data: dict):
    """Changes the user's own profile fields (PROFILE_FIELDS) and saves only those that changed.
    Raises ValueError for any other field: the caller's input serializer lets only these through."""
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    changed = [name for name, value in data.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, data[name])
    if changed:
        user.save(update_fields=changed)
    return user


def _validate_password(password: str, user, *, attr: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            errors=[
                ErrorItem(error.code or UserErrorCode.INVALID, " ".join(error.messages), attr)
                for error in exc.error_list
            ]
        ) from exc


def user_logout(*, user, refresh: str) -> None:
    """Blacklists the user's refresh token (its access token expires on its own).
    Raises TokenError when the token is invalid or belongs to someone else."""
    token = RefreshToken(refresh)
    if str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise TokenError("Token is invalid or expired")
    token.blacklist()


def user_revoke_all_refresh_tokens(*, user) -> None:
    """Every refresh token the user holds stops working (after a password change or reset)."""
    tokens = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in tokens], ignore_conflicts=True)


def user_change_password(*, user, old_password: str, new_password: str) -> None:
    """Checks the old password, validates the new one, and revokes every refresh token."""
    if not user.check_password(old_password):
        raise ValidationFailed(
            "The current password is not correct.", code=UserErrorCode.WRONG_PASSWORD, attr="old_password"
        )
    _validate_password(new_password, user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_revoke_all_refresh_tokens(user=user)


def password_reset_request(*, email: str) -> None:
    """Mails a reset link when the address belongs to an active user. Says nothing either way,
    so the endpoint cannot be used to find out who has an account."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        logger.info("password reset requested for an unknown or inactive address")
        return
    enqueue_on_commit(send_password_reset_email, user.pk)


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> None:
    """Sets a new password when uid and token are valid. The token stops working once used,
    because Django's token generator hashes the password it was made for."""
    invalid = ValidationFailed(
        "The reset link is invalid or has expired.", code=UserErrorCode.INVALID_RESET_TOKEN, attr="token"
    )
    try:
        user_id = force_str(urlsafe_base64_decode(uid))
        user = User.objects.get(pk=int(user_id), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        raise invalid from None
    if not default_token_generator.check_token(user, token):
        raise invalid
    _validate_password(new_password, user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_revoke_all_refresh_tokens(user=user)
