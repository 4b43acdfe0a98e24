"""Account reads other apps rely on."""

from novacart.exceptions import Forbidden

from .error_codes import UserErrorCode


def user_has_verified_email(*, user) -> bool:
    """Whether `user` proved they read mail at their address (the verification link, or Google).
    False for an anonymous user."""
    return bool(getattr(user, "is_authenticated", False) and user.email_verified)


def require_verified_email(*, user) -> None:
    """Raises 403 `email_not_verified` unless user_has_verified_email: what cash on delivery and a
    guest order joining an account ask for (the orders app)."""
    if not user_has_verified_email(user=user):
        raise Forbidden(
            "Verify your e-mail address first: open the link we mailed you, or ask for a new one "
            "(POST /api/auth/verify-email/resend/).",
            code=UserErrorCode.EMAIL_NOT_VERIFIED,
        )
