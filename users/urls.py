from django.urls import path

from . import views

urlpatterns = [
    path("token/", views.TokenObtainView.as_view(), name="token_obtain_pair"),
    path("token/refresh/", views.TokenRefreshRotateView.as_view(), name="token_refresh"),
    path("token/verify/", views.TokenVerifyDocumentedView.as_view(), name="token_verify"),
    path("auth/register/", views.RegisterView.as_view(), name="register"),
    path("auth/login/", views.LoginView.as_view(), name="login"),
    path("auth/google/", views.GoogleSignInView.as_view(), name="google_sign_in"),
    path("auth/verify-email/", views.VerifyEmailView.as_view(), name="verify_email"),
    path("auth/verify-email/resend/", views.VerifyEmailResendView.as_view(), name="verify_email_resend"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/me/", views.MeView.as_view(), name="me"),
    path("auth/change-password/", views.ChangePasswordView.as_view(), name="change_password"),
    path("auth/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("auth/password-reset/confirm/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
]
