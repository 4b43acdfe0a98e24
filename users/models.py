from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a member of staff. The e-mail address is the login."""

    email = models.EmailField(unique=True, error_messages={"unique": "A user with this email address already exists."})
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Moves on with every password change or reset; tokens carry the one they were issued in
    # (users.tokens), so every earlier token, access tokens included, is refused.
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    # Whether the person proved they read mail at `email`: the link mailed at registration
    # (users.services.email_verify), or Google vouching for the address at a Google sign-in.
    email_verified = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message="A user with this email address already exists.",
            ),
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        """A new password on an existing account ends every session, whoever set it: the API's
        change and reset (which also say so through users.services), the admin, `manage.py
        changepassword`, a shell. Django keeps the new raw password in `_password` until saved."""
        if self._password is not None and self.pk is not None:
            self.token_generation = models.F("token_generation") + 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "token_generation"}
            super().save(*args, **kwargs)
            self.refresh_from_db(fields=["token_generation"])
            return
        super().save(*args, **kwargs)

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self):
        return self.first_name or self.email


class SocialAccount(models.Model):
    """An identity at a sign-in provider, tied to one of our accounts. The provider's subject (`sub`)
    is what identifies the person there, not the e-mail: an address can change at Google (or be given
    to someone else), the subject never does. One per provider and subject, one per user and provider."""

    class Provider(models.TextChoices):
        GOOGLE = "google", "Google"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="social_accounts")
    provider = models.CharField(max_length=32, choices=Provider.choices)
    subject = models.CharField(max_length=255)
    # The address the provider last gave (ours stays what it was: it is the login).
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "subject"],
                name="social_account_provider_subject_unique",
                violation_error_message="This Google account is already linked to another account.",
            ),
            models.UniqueConstraint(
                fields=["user", "provider"],
                name="social_account_user_provider_unique",
                violation_error_message="This account is already linked to an account of that provider.",
            ),
        ]

    def __str__(self):
        return f"{self.provider}:{self.subject}"


class UsedGoogleCredential(models.Model):
    """A Google ID token that signed someone in, kept until it expires so it cannot sign in twice.
    `digest` is the SHA-256 of the token's signed part (header and payload): the signature's text
    can be spelled in more than one way (the unused bits of its last base64 character), the signed
    text cannot. Rows past `expires_at` are purged (users.tasks.purge_used_google_credentials)."""

    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.digest
