from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path, reverse_lazy
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .docs import OfflineRedocView, RedocBundleView
from .views import HealthView, LivenessView, api_not_found

api_patterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("health/live/", LivenessView.as_view(), name="health-live"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc/", OfflineRedocView.as_view(url_name="schema"), name="redoc"),
    path("redoc/redoc.standalone.js", RedocBundleView.as_view(), name="redoc-bundle"),
    path("", include("users.urls")),
    path("", include("products.urls")),
    path("", include("orders.voucher_urls")),  # /api/cart/voucher/ and /api/vouchers/
    path("cart/", include("cart.urls")),
    path("addresses/", include("addresses.urls")),
    path("orders/", include("orders.urls")),
    path("returns/", include("orders.return_urls")),
    path("analytics/", include("orders.analytics_urls")),
    path("", include("orders.checkout_urls")),
    path("payments/", include("payments.urls")),
    # Anything else under /api/ answers 404 in the contract's error shape, also with DEBUG on.
    re_path(r"^.*$", api_not_found),
]

# The admin's "View site" link: this is an API, so the page worth visiting is its documentation.
admin.site.site_url = reverse_lazy("docs")
admin.site.site_header = "NovaCart administration"
admin.site.site_title = "NovaCart admin"

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/", include(api_patterns)),
]

if settings.SERVE_MEDIA:
    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )

handler400 = "novacart.views.handler400"
handler403 = "novacart.views.handler403"
handler404 = "novacart.views.handler404"
handler500 = "novacart.views.handler500"
