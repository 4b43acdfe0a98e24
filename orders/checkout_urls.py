from django.urls import path

from . import views

app_name = "checkout"
urlpatterns = [
    path("shipping-methods/", views.ShippingMethodListView.as_view(), name="shipping-methods"),
    path("checkout/preview/", views.CheckoutPreviewView.as_view(), name="preview"),
]
