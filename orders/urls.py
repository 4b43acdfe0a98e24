from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("create/", views.OrderCreateView.as_view(), name="create"),
    path("my/", views.MyOrdersView.as_view(), name="my"),
    path("lookup/", views.OrderLookupView.as_view(), name="lookup"),
    path("<int:pk>/", views.OrderDetailView.as_view(), name="detail"),
    path("cancel/<int:pk>/", views.OrderCancelView.as_view(), name="cancel"),
    path("<int:pk>/status/", views.OrderStatusView.as_view(), name="status"),
    path("<int:pk>/returns/", views.OrderReturnsView.as_view(), name="returns"),
    path("sales-report/", views.SalesReportView.as_view(), name="sales_report"),
]
