"""Background work for accounts. Tasks take ids and reload rows. users.services queues them, so
nothing here imports the services (that would be an import cycle)."""

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


def password_reset_link(*, uid: str, token: str) -> str:
    return f"{settings.FRONTEND_URL}/reset-password?uid={uid}&token={token}"


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
