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
    # E-mail verification (POST /api/auth/verify-email/), 400s: a link that is not ours (or was
    # tampered with), one older than EMAIL_VERIFICATION_TIMEOUT_HOURS, one for an address already verified.
    INVALID_VERIFICATION_TOKEN = "invalid_verification_token"
    VERIFICATION_TOKEN_EXPIRED = "verification_token_expired"
    EMAIL_ALREADY_VERIFIED = "email_already_verified"
    # 403 where a verified e-mail is required (users.selectors.require_verified_email): cash on
    # delivery, and a guest order joining an account (the orders app).
    EMAIL_NOT_VERIFIED = "email_not_verified"
    # Google sign-in (POST /api/auth/google/). 400 for every token we refuse: malformed, bad
    # signature, expired, wrong audience or issuer, already used.
    INVALID_GOOGLE_TOKEN = "invalid_google_token"
    # 403: Google does not vouch for the token's address, and it is needed: it names an account of
    # ours not linked to this Google account yet, or there is no account and one would be made with it.
    GOOGLE_EMAIL_NOT_VERIFIED = "google_email_not_verified"
    # 409: the account with this address is linked to another Google account already.
    GOOGLE_ACCOUNT_CONFLICT = "google_account_conflict"
    # 503: no GOOGLE_CLIENT_ID; Google's certificates could not be fetched.
    GOOGLE_NOT_CONFIGURED = "google_not_configured"
    GOOGLE_UNAVAILABLE = "google_unavailable"
