"""Background work for accounts. Tasks take ids and reload rows. users.services queues them, so
nothing here imports the services (that would be an import cycle)."""

import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlencode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from .models import UsedGoogleCredential
from .tokens import make_email_verification_token

logger = logging.getLogger(__name__)


def password_reset_link(*, uid: str, token: str) -> str:
    return f"{settings.FRONTEND_URL}/reset-password?uid={uid}&token={token}"


def email_verification_link(*, uid: str, token: str) -> str:
    return f"{settings.FRONTEND_URL}/verify-email?{urlencode({'uid': uid, 'token': token})}"


@shared_task
def send_password_reset_email(user_id: int) -> None:
    """Mails the user a password reset link. The uid and token are made here, from the id, so the
    token never sits in a broker message nor in the log line of a task that could not be queued."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    context = {"user": user, "link": password_reset_link(uid=uid, token=token), "uid": uid, "token": token}
    send_mail(
        subject="Reset your NovaCart password",
        message=render_to_string("emails/password_reset.txt", context),
        html_message=render_to_string("emails/password_reset.html", context),
        from_email=None,
        recipient_list=[user.email],
    )


@shared_task
def send_email_verification_email(user_id: int) -> None:
    """Mails the user a link that verifies their address (POST /api/auth/verify-email/). Made here,
    from the id, like the reset link; nothing is sent to an inactive user or a verified address
    (the task may run after Google, or another link, verified it)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True, email_verified=False).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = make_email_verification_token(user)
    hours = settings.EMAIL_VERIFICATION_TIMEOUT_HOURS
    context = {"user": user, "link": email_verification_link(uid=uid, token=token), "hours": hours}
    send_mail(
        subject="Confirm your NovaCart e-mail address",
        message=render_to_string("emails/verify_email.txt", context),
        html_message=render_to_string("emails/verify_email.html", context),
        from_email=None,
        recipient_list=[user.email],
    )


@shared_task
def purge_used_google_credentials() -> int:
    """Forgets the Google ID tokens that have expired since they were used: they are refused as
    expired now, so their replay record has no more work to do (users.services)."""
    deleted, _ = UsedGoogleCredential.objects.filter(expires_at__lt=timezone.now()).delete()
    if deleted:
        logger.info("purged %s expired Google credential record(s)", deleted)
    return deleted


@shared_task
def purge_expired_tokens() -> int:
    """Deletes refresh tokens past their expiry from SimpleJWT's outstanding and blacklist tables
    (what its `flushexpiredtokens` command does): every login adds a row, and an expired token is
    refused by its own `exp`, so its row only takes space. Returns how many outstanding rows went."""
    expired = OutstandingToken.objects.filter(expires_at__lte=timezone.now())
    # Blacklist rows go with their outstanding token (CASCADE).
    deleted = expired.count()
    expired.delete()
    if deleted:
        logger.info("purged %s expired refresh token record(s)", deleted)
    return deleted
