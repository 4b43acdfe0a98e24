"""Account writes: registration, profile, passwords, logout."""

import logging

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import update_last_login
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from novacart.celery import enqueue_on_commit
from novacart.exceptions import ErrorItem, ValidationFailed

from .error_codes import UserErrorCode
from .tasks import send_password_reset_email
from .tokens import SessionRefreshToken

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
    refresh = SessionRefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_refresh_rotate(*, refresh: SessionRefreshToken, user) -> dict:
    """Spends a checked refresh token of `user` and returns a new pair (`access`, `refresh`).

    Of any number of concurrent calls with one token exactly one gets a pair, whichever process or
    app instance runs it: the insert of the spent token's blacklist row (one per outstanding token,
    a unique constraint) decides, in the database. SimpleJWT's own rotation cannot decide: its
    get_or_create hands the loser the winner's row and carries on. Spending the token also ends the
    access tokens issued with it (users.tokens). Raises TokenError for a token that is spent
    already; a loser writes nothing."""
    jti = refresh[api_settings.JTI_CLAIM]
    with transaction.atomic():
        outstanding, _ = OutstandingToken.objects.get_or_create(
            jti=jti,
            defaults={"user": user, "token": str(refresh), "expires_at": datetime_from_epoch(refresh["exp"])},
        )
        _, spent_now = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not spent_now:
            raise TokenError("Token is blacklisted")
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        refresh.outstand()
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


def user_logout(*, user, refresh: str | None, session_jti: str | None) -> None:
    """Ends the user's session that authenticated the request (`session_jti`: the jti of the refresh
    token its access token was issued with) and the one of `refresh`, if given, by blacklisting both
    refresh tokens, which also refuses their access tokens (users.tokens). Raises TokenError, and
    ends nothing, when `refresh` is invalid, spent or someone else's."""
    token = RefreshToken(refresh) if refresh else None
    if token is not None and str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise TokenError("Token is invalid or expired")
    with transaction.atomic():
        if token is not None:
            token.blacklist()
        session = OutstandingToken.objects.filter(jti=session_jti, user=user).first() if session_jti else None
        if session is not None:
            BlacklistedToken.objects.get_or_create(token=session)


def user_revoke_all_tokens(*, user) -> None:
    """Every token the user holds stops working, access tokens included (401 `password_changed`): the
    user's token generation moves on, and each token carries the generation it was issued in
    (users.tokens). Tokens issued from now on carry the new one."""
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])


def user_change_password(*, user, old_password: str, new_password: str) -> None:
    """Checks the old password, validates the new one, and revokes every token issued before."""
    if not user.check_password(old_password):
        raise ValidationFailed(
            "The current password is not correct.", code=UserErrorCode.WRONG_PASSWORD, attr="old_password"
        )
    _validate_password(new_password, user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_revoke_all_tokens(user=user)


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
    because Django's token generator hashes the password it was made for. Revokes every token
    issued before."""
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
        user_revoke_all_tokens(user=user)
