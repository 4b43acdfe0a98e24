from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework_simplejwt.serializers import PasswordField
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer as BaseTokenObtainPairSerializer
from rest_framework_simplejwt.serializers import TokenRefreshSerializer as BaseTokenRefreshSerializer
from rest_framework_simplejwt.serializers import TokenVerifySerializer as BaseTokenVerifySerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import UntypedToken

from novacart.validators import reject_control_characters

from .authentication import JWTHeaderOrCookieAuthentication, user_for_refresh_token
from .tokens import SessionRefreshToken

User = get_user_model()


# A name is shown to other people (the author of a review): the addresses' rule on control
# characters and bidi overrides applies, and to the phone number beside it.
SHOWN_FIELDS = ("first_name", "last_name", "phone")


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "phone", "is_staff", "email_verified", "date_joined"]
        read_only_fields = ["id", "email", "is_staff", "email_verified", "date_joined"]
        extra_kwargs = {name: {"validators": [reject_control_characters]} for name in SHOWN_FIELDS}


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    first_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", validators=[reject_control_characters]
    )
    last_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", validators=[reject_control_characters]
    )
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="", validators=[reject_control_characters]
    )


class TokenRefreshRequestSerializer(serializers.Serializer):
    """What `POST /api/token/refresh/` takes (the view validates it with TokenRefreshSerializer)."""

    refresh = serializers.CharField(
        required=False,
        help_text="The refresh token. Send `{}` instead to use the HttpOnly `refresh` cookie that "
        "`POST /api/auth/login/` set (a cookie request also needs the `X-CSRFToken` header); without "
        "either it is a 400 `required`.",
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RegisterResponseSerializer(serializers.Serializer):
    user = UserSerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(required=False, help_text="Optional when the refresh cookie is set.")


class ChangePasswordSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class GoogleSignInSerializer(serializers.Serializer):
    credential = serializers.CharField(
        max_length=8192,
        trim_whitespace=True,
        help_text="The ID token Google Sign-In or One Tap gave the front end (its `credential`).",
    )


class VerifyEmailSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64, help_text="The `uid` of the verification link.")
    token = serializers.CharField(max_length=128, help_text="The `token` of the verification link.")


class VerifyEmailResponseSerializer(serializers.Serializer):
    detail = serializers.CharField()
    email_verified = serializers.BooleanField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


# Checks a refresh token (signature, expiry, type, not spent, issued since the last password change)
# and that it names an active user; services.token_refresh_rotate spends it. Unlike SimpleJWT's, a token
# of a deleted user, or one naming no user, is a 401 instead of a 500 or a pass. (Comments, not
# docstrings, here: drf-spectacular publishes a serializer's docstring in the schema.)
class TokenRefreshSerializer(BaseTokenRefreshSerializer):
    token_class = SessionRefreshToken

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        return {"token": refresh, "user": user_for_refresh_token(refresh)}


# SimpleJWT's verify answers for the signature and expiry; this one refuses what the rest of the API
# refuses: a spent or logged-out refresh token, an access token whose session ended, and any token
# issued before the last password change or reset.
class TokenVerifySerializer(BaseTokenVerifySerializer):
    def validate(self, attrs):
        raw = attrs["token"]
        if UntypedToken(raw).get(api_settings.TOKEN_TYPE_CLAIM) == SessionRefreshToken.token_type:
            user_for_refresh_token(SessionRefreshToken(raw))
        else:
            authentication = JWTHeaderOrCookieAuthentication()
            authentication.get_user(authentication.get_validated_token(raw.encode()))
        return {}


class TokenObtainPairSerializer(BaseTokenObtainPairSerializer):
    """SimpleJWT's, with the same length limits as the login form: an e-mail of 100,000 characters
    went to the database as a case-insensitive match (a 500 on SQLite: LIKE pattern too complex)."""

    token_class = SessionRefreshToken  # with the claims that let a token be refused early (users.tokens)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=254)
        self.fields["password"] = PasswordField(max_length=128, trim_whitespace=False)
