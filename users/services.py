"""Account writes: registration, sign-in (password and Google), e-mail verification, profile,
passwords, logout."""

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import update_last_login
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from cart.services import cart_merge_anonymous
from novacart.celery import enqueue_on_commit
from novacart.exceptions import (
    Conflict,
    ErrorItem,
    Forbidden,
    NotAuthenticated,
    ServiceUnavailable,
    ValidationFailed,
)
from novacart.validators import reject_control_characters
from orders.services import orders_attach_guest_orders

from . import google
from .error_codes import UserErrorCode
from .models import SocialAccount, UsedGoogleCredential
from .tasks import send_email_verification_email, send_password_reset_email
from .tokens import SessionRefreshToken, check_email_verification_token

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


def user_sign_in(*, user, cart_token: str | None = None) -> dict:
    """How every sign-in that hands out a session ends (/api/auth/login/, registration, Google):
    records the sign-in (user_record_sign_in), merges the anonymous cart of `cart_token` (the
    X-Cart-Token header) into the user's, and returns a new token pair (`access`, `refresh`). The
    caller has checked the credentials and that the account is active."""
    user_record_sign_in(user=user)
    if cart_token:
        cart_merge_anonymous(user=user, cart_token=cart_token)
    return tokens_for_user(user)


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
            user = User.objects.create_user(
                email=email, password=password, first_name=first_name, last_name=last_name, phone=phone
            )
    except IntegrityError as exc:  # a concurrent registration of the same address won the race
        raise ValidationFailed(
            "A user with this e-mail address already exists.", code=UserErrorCode.EMAIL_TAKEN, attr="email"
        ) from exc
    enqueue_on_commit(send_email_verification_email, user.pk)
    return user


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
    so the endpoint cannot be used to find out who has an account. An account without a usable
    password (made by a Google sign-in, or whose registrant's password ended when Google vouched for
    the owner) gets a link too: it is how its owner sets a password."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        logger.info("password reset requested for an unknown or inactive address")
        return
    enqueue_on_commit(send_password_reset_email, user.pk)


def _active_user_from_uid(uid: str):
    """The active user a link's `uid` (the base64 of the id) names, or None."""
    try:
        return User.objects.filter(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True).first()
    except (ValueError, TypeError, OverflowError):
        return None


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> None:
    """Sets a new password when uid and token are valid. The token stops working once used,
    because Django's token generator hashes the password it was made for. Revokes every token
    issued before."""
    invalid = ValidationFailed(
        "The reset link is invalid or has expired.", code=UserErrorCode.INVALID_RESET_TOKEN, attr="token"
    )
    user = _active_user_from_uid(uid)
    if user is None:
        raise invalid
    if not default_token_generator.check_token(user, token):
        raise invalid
    _validate_password(new_password, user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_revoke_all_tokens(user=user)


# --- e-mail verification ------------------------------------------------------------------------


def user_verify_email(*, uid: str, token: str) -> None:
    """Marks the address of the link's user verified. The link (users.tokens) is good once, for the
    address it was mailed to, for EMAIL_VERIFICATION_TIMEOUT_HOURS. Raises (400, on `token`)
    `invalid_verification_token` for a link that is not ours, `verification_token_expired`, and
    `email_already_verified` once the address is verified (by this link, another, or Google)."""
    invalid = ValidationFailed(
        "The verification link is invalid.", code=UserErrorCode.INVALID_VERIFICATION_TOKEN, attr="token"
    )
    user = _active_user_from_uid(uid)
    if user is None:
        raise invalid
    already_verified = ValidationFailed(
        "This e-mail address is already verified.", code=UserErrorCode.EMAIL_ALREADY_VERIFIED, attr="token"
    )
    try:
        check_email_verification_token(user, token)
    except signing.SignatureExpired:
        if user.email_verified:
            raise already_verified from None
        raise ValidationFailed(
            "The verification link has expired; ask for a new one.",
            code=UserErrorCode.VERIFICATION_TOKEN_EXPIRED,
            attr="token",
        ) from None
    except signing.BadSignature:
        raise invalid from None
    # Conditional: of two clicks at once, one verifies and the other is told it is done already.
    # The address is proved now: the orders placed as a guest with it become the account's, together.
    with transaction.atomic():
        if not User.objects.filter(pk=user.pk, email_verified=False).update(email_verified=True):
            raise already_verified
        user.email_verified = True
        orders_attach_guest_orders(user=user)


def user_resend_verification_email(*, user) -> None:
    """Mails a new verification link to the user's address; nothing when it is verified already.
    Earlier links keep working until they expire (each is good for the same address)."""
    if user.email_verified:
        logger.info("verification mail not sent: user %s is verified already", user.pk)
        return
    enqueue_on_commit(send_email_verification_email, user.pk)


def user_email_changed(*, user, previous_email: str) -> None:
    """After staff changed the user's address (the admin; customers cannot): unless only its case
    changed, nobody has proved the new one, so it is unverified again (cash on delivery waits) and
    a verification link goes to it. Links mailed to the old address stopped working with the change
    (users.tokens)."""
    if user.email.casefold() == previous_email.casefold():
        return
    User.objects.filter(pk=user.pk).update(email_verified=False)
    user.email_verified = False
    enqueue_on_commit(send_email_verification_email, user.pk)


# --- Google sign-in ---------------------------------------------------------------------------


def _google_client_ids() -> list[str]:
    return [client_id.strip() for client_id in settings.GOOGLE_CLIENT_ID.split(",") if client_id.strip()]


def _invalid_google_token(detail: str = "The Google credential is invalid or has expired.") -> ValidationFailed:
    return ValidationFailed(detail, code=UserErrorCode.INVALID_GOOGLE_TOKEN, attr="credential")


def _refuse_inactive(user) -> None:
    if not user.is_active:
        raise NotAuthenticated(
            "No active account found with the given credentials.", code=UserErrorCode.NO_ACTIVE_ACCOUNT
        )


def _shown_name(value: str, max_length: int = 150) -> str:
    """A name from Google, if our rule for names shown to others accepts it (else none)."""
    try:
        return reject_control_characters(value.strip())[:max_length]
    except serializers.ValidationError:
        return ""


def _record_google_credential_use(identity: google.GoogleIdentity) -> None:
    """The token is spent: a second sign-in with it is refused until it expires (when it would be
    refused anyway). In the database, not the cache: an evicted or unreachable cache entry would let
    a replay through, and the unique digest decides between concurrent uses on any instance."""
    expires_at = datetime.fromtimestamp(identity.expires_at + settings.GOOGLE_CLOCK_SKEW_SECONDS, tz=UTC)
    try:
        with transaction.atomic():
            UsedGoogleCredential.objects.create(digest=identity.digest, expires_at=expires_at)
    except IntegrityError:
        raise _invalid_google_token("This Google credential has been used already.") from None


def _google_account_user(identity: google.GoogleIdentity):
    """The account a Google identity signs into, linking or creating it (see user_sign_in_with_google)."""
    now = timezone.now()
    link = (
        SocialAccount.objects.select_related("user")
        .filter(provider=SocialAccount.Provider.GOOGLE, subject=identity.subject)
        .first()
    )
    if link is not None:
        _refuse_inactive(link.user)
        SocialAccount.objects.filter(pk=link.pk).update(email=identity.email[:254], last_sign_in_at=now)
        return link.user
    if not identity.email or len(identity.email) > 254:
        raise _invalid_google_token("The Google credential carries no e-mail address.")
    if not identity.email_verified:
        raise Forbidden(
            "Google has not verified this e-mail address; sign in with your password, or verify it at Google first.",
            code=UserErrorCode.GOOGLE_EMAIL_NOT_VERIFIED,
        )
    email = User.objects.normalize_email(identity.email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email,
            password=None,  # an unusable password: this account signs in with Google (or resets one)
            first_name=_shown_name(identity.given_name),
            last_name=_shown_name(identity.family_name),
            email_verified=True,
        )
        orders_attach_guest_orders(user=user)
    else:
        _refuse_inactive(user)
        linked = SocialAccount.objects.filter(user=user, provider=SocialAccount.Provider.GOOGLE).first()
        if linked is not None and linked.subject == identity.subject:
            # A concurrent first sign-in of this same person linked it after our look-up by subject.
            SocialAccount.objects.filter(pk=linked.pk).update(email=identity.email[:254], last_sign_in_at=now)
            return user
        if linked is not None:
            raise Conflict(
                "This account is linked to another Google account.", code=UserErrorCode.GOOGLE_ACCOUNT_CONFLICT
            )
        if not user.email_verified:
            # Nobody proved this address before: whoever registered it may not be its owner, whom
            # Google now vouches for. Their password and sessions stop working (a pre-registered
            # account must not stay open to its registrant); the owner can set a password by reset.
            user.set_unusable_password()
            user.email_verified = True
            user.save(update_fields=["password", "email_verified"])
            user_revoke_all_tokens(user=user)
            orders_attach_guest_orders(user=user)
    SocialAccount.objects.create(
        user=user,
        provider=SocialAccount.Provider.GOOGLE,
        subject=identity.subject,
        email=identity.email,
        last_sign_in_at=now,
    )
    return user


def user_sign_in_with_google(*, credential: str, cart_token: str | None = None) -> dict:
    """Signs in with a Google ID token (users.google checks it) and returns a token pair, like
    the password login (user_sign_in). The account is the one linked to the token's Google subject;
    else the account with the token's e-mail, linked now, when Google says the address is verified
    (which marks ours verified too); else a new account with that verified address and an unusable
    password. Each token signs in once.

    Raises 503 `google_not_configured` (no GOOGLE_CLIENT_ID) or `google_unavailable` (Google's
    certificates could not be fetched); 400 `invalid_google_token` (any bad token, or one used
    before); 403 `google_email_not_verified`; 409 `google_account_conflict` (the account with that
    address is linked to another Google account); 401 `no_active_account` (an inactive account).
    Nothing is written when it raises."""
    client_ids = _google_client_ids()
    if not client_ids:
        raise ServiceUnavailable("Google sign-in is not configured.", code=UserErrorCode.GOOGLE_NOT_CONFIGURED)
    try:
        identity = google.verify_id_token(credential, client_ids=client_ids)
    except google.GoogleUnavailable as exc:
        logger.warning("google sign-in: certificates unavailable: %s", exc)
        raise ServiceUnavailable(
            "Google sign-in is unavailable right now. Try again shortly.", code=UserErrorCode.GOOGLE_UNAVAILABLE
        ) from exc
    except google.InvalidGoogleToken as exc:
        logger.info("google sign-in refused: %s", exc)
        raise _invalid_google_token() from exc
    # A concurrent first sign-in of the same person (or a registration of the same address) can
    # create the account or the link between our read and our insert: the database refuses the
    # second, and the next round finds what the first made.
    for attempt in range(2):
        try:
            with transaction.atomic():
                _record_google_credential_use(identity)
                user = _google_account_user(identity)
            break
        except IntegrityError:
            if attempt:
                raise
    return user_sign_in(user=user, cart_token=cart_token)
