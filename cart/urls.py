from django.urls import path

from . import views

app_name = "cart"
urlpatterns = [
    path("", views.CartView.as_view(), name="detail"),
    path("add/", views.CartAddView.as_view(), name="add"),
    # `cart_id` is a cart item's id: the documented path (API.md); the views call it item_id.
    path("update/<int:cart_id>/", views.CartUpdateView.as_view(), name="update"),
    path("remove/<int:cart_id>/", views.CartRemoveView.as_view(), name="remove"),
    path("clear/", views.CartClearView.as_view(), name="clear"),
]
