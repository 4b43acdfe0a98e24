from django.conf import settings
from django.contrib.auth import authenticate
from django.middleware.csrf import get_token
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_serializers import ErrorResponse403Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from cart.services import cart_merge_anonymous
from novacart.error_codes import CoreErrorCode
from novacart.exceptions import NotAuthenticated, ValidationFailed, error_body
from novacart.openapi import CSRF_DESCRIPTION, CSRF_FAILED_EXAMPLE, ErrorResponse401Serializer, ErrorResponseSerializer
from novacart.parsers import JSONParser

from . import services
from .authentication import JWTHeaderOrCookieAuthentication
from .error_codes import UserErrorCode
from .permissions import NotCrossSite
from .serializers import (
    SHOWN_FIELDS,
    ChangePasswordSerializer,
    DetailSerializer,
    GoogleSignInSerializer,
    LoginSerializer,
    LogoutSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
    TokenObtainPairSerializer,
    TokenPairSerializer,
    TokenRefreshRequestSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
    UserSerializer,
    VerifyEmailResponseSerializer,
    VerifyEmailSerializer,
)
from .throttles import (
    AuthRateThrottle,
    EmailVerificationResendThrottle,
    PasswordChangeThrottle,
    PasswordResetConfirmThrottle,
    PasswordResetRequestThrottle,
    RegisterThrottle,
    SignInThrottle,
)
from .tokens import SESSION_CLAIM

CART_TOKEN_PARAMETER = OpenApiParameter(
    "X-Cart-Token",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="An anonymous cart to merge into the user's cart.",
)


# Codes of Django's password validators (AUTH_PASSWORD_VALIDATORS), reported on the password field.
PASSWORD_VALIDATOR_CODES = [
    "password_too_similar",
    "password_too_short",
    "password_too_common",
    "password_entirely_numeric",
]


def _cart_token(request) -> str | None:
    return request.headers.get("X-Cart-Token") or None


def _merge_cart(request, user) -> None:
    token = _cart_token(request)
    if token:
        cart_merge_anonymous(user=user, cart_token=token)


class TokenObtainView(TokenObtainPairView):
    """`{"email", "password"}` -> `{"access", "refresh"}`; merges an anonymous cart sent as X-Cart-Token."""

    serializer_class = TokenObtainPairSerializer
    throttle_classes = [SignInThrottle]

    @extend_schema(
        summary="Sign in for a token pair",
        parameters=[CART_TOKEN_PARAMETER],
        responses={200: TokenPairSerializer, 401: ErrorResponse401Serializer},
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        except AuthenticationFailed:
            SignInThrottle.record_failure(request)
            raise
        services.user_record_sign_in(user=serializer.user)
        _merge_cart(request, serializer.user)
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


# `refresh` is optional in the documented body (the cookie may stand in), so its `required` is listed.
@extend_validation_errors(["required"], field_name="refresh", methods=["post"])
class TokenRefreshRotateView(TokenRefreshView):
    """`{"refresh"}` -> `{"access", "refresh"}`; the old refresh token is blacklisted, and the access
    tokens issued with it stop working. Of concurrent refreshes with one token exactly one succeeds;
    the others get 401 `token_not_valid`.

    A browser SPA on the cookie transport sends no `refresh` (it cannot read the HttpOnly cookie):
    the `refresh` cookie is used instead, CSRF-checked like every cookie-authenticated write,
    and the new pair is set as cookies again."""

    serializer_class = TokenRefreshSerializer
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        summary="Refresh the token pair",
        request=TokenRefreshRequestSerializer,
        responses={
            200: TokenPairSerializer,
            401: ErrorResponse401Serializer,
            403: OpenApiResponse(
                ErrorResponse403Serializer,
                description=f"Only on the cookie refresh (`{{}}`): {CSRF_DESCRIPTION}",
                examples=[CSRF_FAILED_EXAMPLE],
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        cookie = request.COOKIES.get(settings.AUTH_COOKIE_REFRESH)
        # A body that is not a JSON object (null, a list) goes to the serializer, which says 400.
        from_cookie = isinstance(request.data, dict) and "refresh" not in request.data and bool(cookie)
        if from_cookie:
            JWTHeaderOrCookieAuthentication.enforce_csrf(request)
        serializer = self.get_serializer(data={"refresh": cookie} if from_cookie else request.data)
        try:
            serializer.is_valid(raise_exception=True)
            tokens = services.token_refresh_rotate(
                refresh=serializer.validated_data["token"], user=serializer.validated_data["user"]
            )
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        response = Response(tokens, status=status.HTTP_200_OK)
        if from_cookie:
            _set_auth_cookies(response, access=tokens["access"], refresh=tokens["refresh"])
        return response


# The refresh cookie goes to /api/token/refresh/ and /api/auth/logout/, nowhere outside the API.
REFRESH_COOKIE_PATH = "/api/"


def _set_auth_cookies(response, *, access: str, refresh: str | None) -> None:
    common = {
        "httponly": True,
        "secure": settings.AUTH_COOKIE_SECURE,
        "samesite": settings.AUTH_COOKIE_SAMESITE,
        "domain": settings.AUTH_COOKIE_DOMAIN,
    }
    jwt = settings.SIMPLE_JWT
    response.set_cookie(
        settings.AUTH_COOKIE_ACCESS,
        access,
        max_age=int(jwt["ACCESS_TOKEN_LIFETIME"].total_seconds()),
        path="/",
        **common,
    )
    if refresh:
        response.set_cookie(
            settings.AUTH_COOKIE_REFRESH,
            refresh,
            max_age=int(jwt["REFRESH_TOKEN_LIFETIME"].total_seconds()),
            path=REFRESH_COOKIE_PATH,
            **common,
        )


def _clear_auth_cookies(response) -> None:
    response.delete_cookie(settings.AUTH_COOKIE_ACCESS, path="/", domain=settings.AUTH_COOKIE_DOMAIN)
    response.delete_cookie(settings.AUTH_COOKIE_REFRESH, path=REFRESH_COOKIE_PATH, domain=settings.AUTH_COOKIE_DOMAIN)


# The endpoints that sign a browser in refuse other sites' pages (login CSRF) and take JSON only.
SIGN_IN_PERMISSIONS = [NotCrossSite]
SIGN_IN_PARSERS = [JSONParser]
CROSS_SITE_RESPONSE = OpenApiResponse(
    ErrorResponseSerializer,
    description="`cross_site_request`: the Origin (or Referer) is not a trusted origin.",
    examples=[
        OpenApiExample(
            "CrossSiteRequest",
            value=error_body(UserErrorCode.CROSS_SITE_REQUEST, NotCrossSite.message),
            response_only=True,
            status_codes=["403"],
        )
    ],
)


class _BrowserSignInView(APIView):
    """What every sign-in that answers with cookies shares: no authentication of its own, the
    cross-site check, JSON only, and the sign-in limits."""

    authentication_classes: list = []
    permission_classes = SIGN_IN_PERMISSIONS
    parser_classes = SIGN_IN_PARSERS
    throttle_classes = [SignInThrottle]

    def get_authenticate_header(self, request):
        # Without an authenticator DRF would turn a refused sign-in into 403; it is a 401.
        return 'Bearer realm="api"'


class LoginView(_BrowserSignInView):
    """Like /api/token/, and also sets HttpOnly `access`/`refresh` cookies (plus the CSRF cookie)
    for browser SPAs."""

    @extend_schema(
        summary="Sign in (tokens and HttpOnly cookies)",
        request=LoginSerializer,
        responses={200: TokenPairSerializer, 401: ErrorResponse401Serializer, 403: CROSS_SITE_RESPONSE},
        parameters=[CART_TOKEN_PARAMETER],
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request, email=serializer.validated_data["email"], password=serializer.validated_data["password"]
        )
        if user is None or not user.is_active:
            SignInThrottle.record_failure(request)
            raise AuthenticationFailed(
                "No active account found with the given credentials.", code=UserErrorCode.NO_ACTIVE_ACCOUNT
            )
        return _signed_in_response(request, services.user_sign_in(user=user, cart_token=_cart_token(request)))


def _signed_in_response(request, tokens: dict) -> Response:
    """The answer of a browser sign-in: the pair in the body and as HttpOnly cookies, and the CSRF cookie."""
    response = Response(tokens, status=status.HTTP_200_OK)
    _set_auth_cookies(response, access=tokens["access"], refresh=tokens["refresh"])
    get_token(request)  # the SPA reads csrftoken and sends it as X-CSRFToken on unsafe requests
    return response


GOOGLE_CREDENTIAL_EXAMPLE = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjZmNzI1NDEwMWY1NmU0MWNmMzVjOTkyNmRlODRhMmQ1NTJiNGM2ZjEiLCJ0eXAiOiJKV1QifQ"
    ".eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhdWQiOiIxMjM0NTY3ODkwLWFiYy5hcHBzLmdvb2dsZXVzZXJj"
    "b250ZW50LmNvbSIsInN1YiI6IjEwNzY5MTUwMzUwMDA2MTUwNzE1MTEzMDgyMzY3IiwiZW1haWwiOiJhZGFAZXhhbXBsZS5jb20i"
    "LCJlbWFpbF92ZXJpZmllZCI6dHJ1ZX0.c2lnbmF0dXJl"
)


def _error_example(name: str, status_code: str, code: str, detail: str, *, error_type="client_error", attr=None):
    return OpenApiExample(
        name,
        value=error_body(code, detail, error_type=error_type, attr=attr),
        response_only=True,
        status_codes=[status_code],
    )


@extend_validation_errors([UserErrorCode.INVALID_GOOGLE_TOKEN], field_name="credential", methods=["post"])
class GoogleSignInView(_BrowserSignInView):
    """Sign in with Google: `credential` is the ID token Google Sign-In (or One Tap) gave the front
    end. Google's signature, our client id (`aud`), the issuer and the expiry are checked, and each
    token signs in once. The first sign-in creates the account (e-mail verified, no password); an
    account with the same e-mail signs in only when Google says the address is verified, and is then
    linked to the Google account, so a later change of address at Google signs into the same
    account. Answers like `POST /api/auth/login/`: the token pair and HttpOnly cookies; an anonymous
    cart sent as `X-Cart-Token` is merged. The same sign-in limits apply."""

    @extend_schema(
        summary="Sign in with Google",
        request=GoogleSignInSerializer,
        parameters=[CART_TOKEN_PARAMETER],
        examples=[
            OpenApiExample("GoogleCredential", value={"credential": GOOGLE_CREDENTIAL_EXAMPLE}, request_only=True)
        ],
        responses={
            200: TokenPairSerializer,
            401: ErrorResponse401Serializer,
            403: OpenApiResponse(
                ErrorResponseSerializer,
                description="`google_email_not_verified`: Google does not vouch for the address, and it is needed "
                "(an account of ours has it, or one would be created with it); `cross_site_request`.",
                examples=[
                    _error_example(
                        "GoogleEmailNotVerified",
                        "403",
                        UserErrorCode.GOOGLE_EMAIL_NOT_VERIFIED,
                        "Google has not verified this e-mail address; sign in with your password, or verify it "
                        "at Google first.",
                    ),
                    _error_example("CrossSiteRequest", "403", UserErrorCode.CROSS_SITE_REQUEST, NotCrossSite.message),
                ],
            ),
            409: OpenApiResponse(
                ErrorResponseSerializer,
                description="`google_account_conflict`: the account with this address is linked to another "
                "Google account.",
                examples=[
                    _error_example(
                        "GoogleAccountConflict",
                        "409",
                        UserErrorCode.GOOGLE_ACCOUNT_CONFLICT,
                        "This account is linked to another Google account.",
                    )
                ],
            ),
            503: OpenApiResponse(
                ErrorResponseSerializer,
                description="`google_not_configured` (no `GOOGLE_CLIENT_ID`), `google_unavailable` (Google's "
                "certificates could not be fetched), or `cache_unavailable` (the sign-in limit cannot be checked).",
                examples=[
                    _error_example(
                        "GoogleNotConfigured",
                        "503",
                        UserErrorCode.GOOGLE_NOT_CONFIGURED,
                        "Google sign-in is not configured.",
                        error_type="server_error",
                    ),
                    _error_example(
                        "GoogleUnavailable",
                        "503",
                        UserErrorCode.GOOGLE_UNAVAILABLE,
                        "Google sign-in is unavailable right now. Try again shortly.",
                        error_type="server_error",
                    ),
                ],
            ),
        },
    )
    def post(self, request):
        serializer = GoogleSignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tokens = services.user_sign_in_with_google(
                credential=serializer.validated_data["credential"], cart_token=_cart_token(request)
            )
        except (ValidationFailed, NotAuthenticated) as exc:
            # A refused token or an inactive account is a failed sign-in, as a wrong password is.
            if exc.code in (UserErrorCode.INVALID_GOOGLE_TOKEN, UserErrorCode.NO_ACTIVE_ACCOUNT):
                SignInThrottle.record_failure(request)
            raise
        return _signed_in_response(request, tokens)


def _document_control_characters(methods: list[str]):
    """The schema lists `control_characters` on the name fields (novacart.validators)."""

    def decorate(view):
        for field in SHOWN_FIELDS:
            view = extend_validation_errors([CoreErrorCode.CONTROL_CHARACTERS], field_name=field, methods=methods)(view)
        return view

    return decorate


@_document_control_characters(["post"])
@extend_validation_errors([UserErrorCode.EMAIL_TAKEN], field_name="email", methods=["post"])
@extend_validation_errors(PASSWORD_VALIDATOR_CODES, field_name="password", methods=["post"])
class RegisterView(APIView):
    authentication_classes: list = []
    permission_classes = SIGN_IN_PERMISSIONS
    parser_classes = SIGN_IN_PARSERS
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        summary="Create an account",
        request=RegisterSerializer,
        responses={201: RegisterResponseSerializer, 403: CROSS_SITE_RESPONSE},
        parameters=[CART_TOKEN_PARAMETER],
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        tokens = services.user_sign_in(user=user, cart_token=_cart_token(request))
        return Response({"user": UserSerializer(user).data, **tokens}, status=status.HTTP_201_CREATED)


class LogoutView(APIView):
    """Ends the session of the access token that authenticated the request and the one of the refresh
    token (from the body or the cookie), and clears the cookies."""

    @extend_schema(summary="Sign out", request=LogoutSerializer, responses={200: DetailSerializer})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh = serializer.validated_data.get("refresh") or request.COOKIES.get(settings.AUTH_COOKIE_REFRESH)
        try:
            services.user_logout(user=request.user, refresh=refresh, session_jti=request.auth.get(SESSION_CLAIM))
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        response = Response({"detail": "Logged out."}, status=status.HTTP_200_OK)
        _clear_auth_cookies(response)
        return response


# The signed-in user's profile; PATCH writes through services.user_update_profile. (A comment, not a
# docstring: drf-spectacular would publish a docstring as the endpoint's description.)
@extend_schema_view(get=extend_schema(summary="Your profile"), patch=extend_schema(summary="Update your profile"))
@_document_control_characters(["patch"])
class MeView(generics.RetrieveUpdateAPIView):
    serializer_class = UserSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, data=serializer.validated_data)
        return Response(self.get_serializer(user).data)


@extend_validation_errors([UserErrorCode.WRONG_PASSWORD], field_name="old_password", methods=["post"])
@extend_validation_errors(PASSWORD_VALIDATOR_CODES, field_name="new_password", methods=["post"])
class ChangePasswordView(APIView):
    throttle_classes = [UserRateThrottle, PasswordChangeThrottle]

    @extend_schema(summary="Change your password", request=ChangePasswordSerializer, responses={200: DetailSerializer})
    def post(self, request):
        serializer = ChangePasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.user_change_password(user=request.user, **serializer.validated_data)
        except ValidationFailed as exc:
            if exc.code == UserErrorCode.WRONG_PASSWORD:
                PasswordChangeThrottle.record_failure(request)
            raise
        return Response({"detail": "Password changed."})


class PasswordResetView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PasswordResetRequestThrottle]

    @extend_schema(
        summary="Ask for a password reset link", request=PasswordResetSerializer, responses={202: DetailSerializer}
    )
    def post(self, request):
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        return Response(
            {"detail": "If an account exists for this address, a reset link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


@extend_validation_errors([UserErrorCode.INVALID_RESET_TOKEN], field_name="token", methods=["post"])
@extend_validation_errors(PASSWORD_VALIDATOR_CODES, field_name="new_password", methods=["post"])
class PasswordResetConfirmView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # The anonymous rate per address besides the per-link limit: forged links each count there.
    throttle_classes = [AnonRateThrottle, PasswordResetConfirmThrottle]

    @extend_schema(
        summary="Set a new password from a reset link",
        request=PasswordResetConfirmSerializer,
        responses={200: DetailSerializer},
    )
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response({"detail": "Password has been reset."})


class TokenVerifyDocumentedView(TokenVerifyView):
    """`{"token"}` (access or refresh) -> 200 when the API would accept it, else 401: invalid or
    expired, a spent or logged-out refresh token, a session that ended, or issued before the last
    password change or reset (`password_changed`)."""

    serializer_class = TokenVerifySerializer

    @extend_schema(summary="Check a token", responses={200: None, 401: ErrorResponse401Serializer})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


@extend_validation_errors(
    [
        UserErrorCode.INVALID_VERIFICATION_TOKEN,
        UserErrorCode.VERIFICATION_TOKEN_EXPIRED,
        UserErrorCode.EMAIL_ALREADY_VERIFIED,
    ],
    field_name="token",
    methods=["post"],
)
class VerifyEmailView(APIView):
    """Confirms the e-mail address with the `uid` and `token` of the link mailed at registration
    (or by `verify-email/resend/`). A link works once, for EMAIL_VERIFICATION_TIMEOUT_HOURS; needs no
    sign-in (the link may be opened on another device)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Verify the e-mail address",
        request=VerifyEmailSerializer,
        examples=[
            OpenApiExample(
                "VerificationLink",
                value={"uid": "MTI", "token": "1uXk9Z:Rk7cQ2mA8yHf0P6tQy3sWb1uJxVdE4nL9oTgKpZr5Ic"},
                request_only=True,
            )
        ],
        responses={200: VerifyEmailResponseSerializer},
    )
    def post(self, request):
        serializer = VerifyEmailSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_verify_email(**serializer.validated_data)
        return Response({"detail": "E-mail address verified.", "email_verified": True})


class VerifyEmailResendView(APIView):
    """Mails a new verification link to the signed-in user's address; nothing is sent when it is
    verified already (still 202). Limited per user (THROTTLE_EMAIL_VERIFICATION_RESEND_RATE)."""

    throttle_classes = [EmailVerificationResendThrottle]

    @extend_schema(summary="Send the verification e-mail again", request=None, responses={202: DetailSerializer})
    def post(self, request):
        services.user_resend_verification_email(user=request.user)
        return Response(
            {"detail": "If your address is not verified yet, a new link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )
