"""The tokens the API issues: SimpleJWT's, with two claims that let a token be refused before it expires.

- `token_generation` (refresh and access): the user's `token_generation` when the session began. A
  password change or reset moves the user's on, so every earlier token is refused (`password_changed`).
  A counter rather than a time: `iat` has whole seconds, and in the second of a change a token issued
  before it must be refused while the one issued right after it must work. A token without the claim
  (issued before it existed) counts as generation 0.
- `refresh_jti` (access only): the refresh token the access token was issued with. When that refresh
  token is blacklisted (spent by a refresh, or logged out) its access tokens are refused too.

And the e-mail verification token, made with the same ideas as Django's password reset token:
signed with SECRET_KEY (and SECRET_KEY_FALLBACKS), expiring (EMAIL_VERIFICATION_TIMEOUT_HOURS), tied
to the user and the address it was mailed to, and good once: it stops working when the address is
verified (users.services.email_verify refuses it then).
"""

from django.conf import settings
from django.core import signing
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from .error_codes import UserErrorCode

GENERATION_CLAIM = "token_generation"
SESSION_CLAIM = "refresh_jti"


class SessionRefreshToken(RefreshToken):
    @classmethod
    def for_user(cls, user):
        # SimpleJWT records the outstanding token before this claim is added: the recorded text is
        # for the admin to look at, nothing verifies against it.
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.token_generation
        return token

    @property
    def access_token(self):
        access = super().access_token
        access[SESSION_CLAIM] = self[api_settings.JTI_CLAIM]
        return access


def refuse_if_issued_before_password_change(token, user) -> None:
    """Raises 401 `password_changed` when `token` was issued before the user's last password change or reset."""
    if token.get(GENERATION_CLAIM, 0) != user.token_generation:
        raise AuthenticationFailed(
            "The password was changed after this token was issued.", code=UserErrorCode.PASSWORD_CHANGED
        )


EMAIL_VERIFICATION_SALT = "users.tokens.email_verification"


def _email_verification_value(user) -> str:
    # What the token vouches for; it is signed but never sent: the link carries only the timestamp
    # and the signature, so the address is not in the URL, and a token for another address (the
    # admin changed it since) does not match.
    return f"{user.pk}/{user.email.casefold()}"


def make_email_verification_token(user) -> str:
    signed = signing.TimestampSigner(salt=EMAIL_VERIFICATION_SALT).sign(_email_verification_value(user))
    return signed[len(_email_verification_value(user)) + 1 :]


def check_email_verification_token(user, token: str) -> None:
    """Returns when `token` was made for `user` and its current address within
    EMAIL_VERIFICATION_TIMEOUT_HOURS. Raises signing.SignatureExpired when it is older, and
    signing.BadSignature (its parent) when it is not ours at all."""
    signer = signing.TimestampSigner(salt=EMAIL_VERIFICATION_SALT)
    signer.unsign(
        f"{_email_verification_value(user)}{signer.sep}{token}",
        max_age=settings.EMAIL_VERIFICATION_TIMEOUT_HOURS * 3600,
    )
