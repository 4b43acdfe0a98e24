from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string


@shared_task
def send_password_reset_email(user_id: int, uid: str, token: str) -> None:
    from .services import password_reset_link

    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return
    context = {"user": user, "link": password_reset_link(uid=uid, token=token), "uid": uid, "token": token}
    send_mail(
        subject="Reset your NovaCart password",
        message=render_to_string("emails/password_reset.txt", context),
        html_message=render_to_string("emails/password_reset.html", context),
        from_email=None,
        recipient_list=[user.email],
    )
