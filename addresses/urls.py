from django.urls import path

from .views import AddressViewSet

app_name = "addresses"
urlpatterns = [
    path("", AddressViewSet.as_view({"get": "list", "post": "create"}), name="list"),
    path(
        "<int:pk>/",
        AddressViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}),
        name="detail",
    ),
    path("<int:pk>/set-default/", AddressViewSet.as_view({"post": "set_default"}), name="set_default"),
]
