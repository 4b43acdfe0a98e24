"""JWT from the Authorization header, or from the HttpOnly `access` cookie for browser SPAs.

When the cookie is what authenticated the request, Django's CSRF check applies to
unsafe methods (the cookie is sent by the browser on its own; the header is not).

A valid signature is not enough: the token must still speak for its user (users.tokens). The user,
the end of the token's session and the user's token generation come in one query.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from .error_codes import UserErrorCode
from .tokens import SESSION_CLAIM, refuse_if_issued_before_password_change

User = get_user_model()


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def user_for_refresh_token(refresh):
    """The active user a checked refresh token names. Raises 401 `no_active_account` when it names
    none (deleted, inactive, or no user claim) and `password_changed` when it was issued before the
    user's last password change or reset."""
    user = User.objects.filter(**{api_settings.USER_ID_FIELD: refresh.get(api_settings.USER_ID_CLAIM)}).first()
    if not api_settings.USER_AUTHENTICATION_RULE(user):
        raise exceptions.AuthenticationFailed(
            "No active account found for the given token.", code=UserErrorCode.NO_ACTIVE_ACCOUNT
        )
    refuse_if_issued_before_password_change(refresh, user)
    return user


class JWTHeaderOrCookieAuthentication(JWTAuthentication):
    def authenticate(self, request):
        header = self.get_header(request)
        if header is not None:
            return super().authenticate(request)

        raw_token = request.COOKIES.get(settings.AUTH_COOKIE_ACCESS)
        if not raw_token:
            return None
        validated_token = self.get_validated_token(raw_token.encode())
        user = self.get_user(validated_token)
        self.enforce_csrf(request)
        return user, validated_token

    def get_user(self, validated_token):
        """The access token's user, if the token still speaks for them: the user exists and is
        active, the password was not changed since (`password_changed`), and the refresh token it
        was issued with is not blacklisted (a refresh spent it, or a logout ended the session)."""
        session = validated_token.get(SESSION_CLAIM)
        if not session:
            # Only the API mints access tokens, each tied to its session; one without could never be logged out.
            raise exceptions.AuthenticationFailed(
                "The token is tied to no session.", code=UserErrorCode.TOKEN_NOT_VALID
            )
        try:
            user = User.objects.annotate(session_ended=Exists(BlacklistedToken.objects.filter(token__jti=session))).get(
                **{api_settings.USER_ID_FIELD: validated_token.get(api_settings.USER_ID_CLAIM)}
            )
        except User.DoesNotExist:
            raise exceptions.AuthenticationFailed("User not found.", code=UserErrorCode.USER_NOT_FOUND) from None
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive.", code=UserErrorCode.USER_INACTIVE)
        refuse_if_issued_before_password_change(validated_token, user)
        if user.session_ended:
            raise exceptions.AuthenticationFailed(
                "The session of this token has ended.", code=UserErrorCode.TOKEN_NOT_VALID
            )
        return user

    @staticmethod
    def enforce_csrf(request):
        def dummy_get_response(request):  # pragma: no cover - never called
            return None

        check = _CSRFCheck(dummy_get_response)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF failed: {reason}")
