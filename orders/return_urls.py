"""Staff's return routes (`/api/returns/`); a customer's are under their order (`/api/orders/<id>/returns/`)."""

from django.urls import path

from . import views

app_name = "returns"
urlpatterns = [
    path("", views.ReturnListView.as_view(), name="list"),
    path("<int:pk>/", views.ReturnDetailView.as_view(), name="detail"),
    path("<int:pk>/refund/", views.ReturnRefundView.as_view(), name="refund"),
]
