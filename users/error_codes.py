from enum import StrEnum


class UserErrorCode(StrEnum):
    EMAIL_TAKEN = "email_taken"
    WRONG_PASSWORD = "wrong_password"
    INVALID_RESET_TOKEN = "invalid_reset_token"
