from enum import StrEnum


class UserErrorCode(StrEnum):
    EMAIL_TAKEN = "email_taken"
    WRONG_PASSWORD = "wrong_password"
    INVALID_RESET_TOKEN = "invalid_reset_token"
    NO_ACTIVE_ACCOUNT = "no_active_account"
    # 401s of a token that is not (or no longer) good; the names SimpleJWT's own 401s use.
    TOKEN_NOT_VALID = "token_not_valid"
    PASSWORD_CHANGED = "password_changed"
    USER_NOT_FOUND = "user_not_found"
    USER_INACTIVE = "user_inactive"
    # A sign-in from a page of another site (login CSRF): 403.
    CROSS_SITE_REQUEST = "cross_site_request"
    # A password validator error without a code of its own.
    INVALID = "invalid"
