"""The bench URLconf: the whole public API unchanged, plus the floor reference under /bench/floor/."""

from django.urls import include, path

from bench import views

urlpatterns = [
    path("bench/floor/products/", views.floor_product_list, name="bench-floor-list"),
    path("bench/floor/products/<int:product_id>/", views.floor_product_detail, name="bench-floor-detail"),
    path("", include("novacart.urls")),
]

handler400 = "novacart.views.handler400"
handler403 = "novacart.views.handler403"
handler404 = "novacart.views.handler404"
handler500 = "novacart.views.handler500"
