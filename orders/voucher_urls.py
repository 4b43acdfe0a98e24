"""Voucher routes: the cart's voucher (`/api/cart/voucher/`, here because vouchers are orders' and the
cart app comes before orders) and the staff endpoints (`/api/vouchers/`)."""

from django.urls import path

from . import views

app_name = "vouchers"
urlpatterns = [
    path("cart/voucher/", views.CartVoucherView.as_view(), name="cart_voucher"),
    path("vouchers/", views.VoucherListView.as_view(), name="list"),
    path("vouchers/<int:pk>/", views.VoucherDetailView.as_view(), name="detail"),
]
