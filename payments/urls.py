from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("payment-intent/", views.PaymentIntentView.as_view(), name="payment-intent"),
    path("initiate/", views.PaymentInitiateView.as_view(), name="initiate"),
    path("webhook/", views.WebhookView.as_view(), name="webhook"),
    path("refund/", views.RefundView.as_view(), name="refund"),
    path("checkout-session/", views.CheckoutSessionView.as_view(), name="checkout-session"),
    path("verify/", views.VerifyView.as_view(), name="verify"),
    path("dummy/confirm/", views.DummyConfirmView.as_view(), name="dummy-confirm"),
]
