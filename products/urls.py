from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

app_name = "products"

router = SimpleRouter(trailing_slash=True)
router.register("categories", views.CategoryViewSet, basename="category")
router.register("products", views.ProductViewSet, basename="product")

# The wishlist comes before the product routes, so `wishlist` is never read as a product id.
urlpatterns = [
    path("products/wishlist/", views.WishlistView.as_view(), name="wishlist"),
    path("products/wishlist/<int:pk>/", views.WishlistItemView.as_view(), name="wishlist-item"),
    path("products/<int:pk>/reviews/", views.ProductReviewListView.as_view(), name="product-reviews"),
    path(
        "products/<int:pk>/reviews/<int:review_id>/",
        views.ProductReviewDetailView.as_view(),
        name="product-review-detail",
    ),
    *router.urls,
]
