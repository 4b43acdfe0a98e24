"""The tokens the API issues: SimpleJWT's, with two claims that let a token be refused before it expires.

- `token_generation` (refresh and access): the user's `token_generation` when the session began. A
  password change or reset moves the user's on, so every earlier token is refused (`password_changed`).
  A counter rather than a time: `iat` has whole seconds, and in the second of a change a token issued
  before it must be refused while the one issued right after it must work. A token without the claim
  (issued before it existed) counts as generation 0.
- `refresh_jti` (access only): the refresh token the access token was issued with. When that refresh
  token is blacklisted (spent by a refresh, or logged out) its access tokens are refused too.
"""

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
