from enum import StrEnum


class UserErrorCode(StrEnum):
    EMAIL_TAKEN = "email_taken"
    WRONG_PASSWORD = "wrong_password"
    INVALID_RESET_TOKEN = "invalid_reset_token"
    NO_ACTIVE_ACCOUNT = "no_active_account"
    # A sign-in from a page of another site (login CSRF): 403.
    CROSS_SITE_REQUEST = "cross_site_request"
    # A password validator error without a code of its own.
    INVALID = "invalid"
