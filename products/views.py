"""Catalog endpoints: parse, authorise, call a selector or service, render."""

import contextlib
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.viewsets import GenericViewSet

from novacart.openapi import ErrorResponseSerializer, staff_forbidden
from novacart.pagination import StandardPagination
from novacart.permissions import Perm, StaffPermission, user_has_any

from . import cache as catalog_cache
from . import selectors, services
from .error_codes import ProductErrorCode
from .filters import ProductFilter
from .models import Category
from .search import search_is_ranked, search_ranked_page
from .serializers import (
    VARIANT_INPUT_ERROR_CODES,
    CategoryDetailSerializer,
    CategoryTreeSerializer,
    CategoryWriteSerializer,
    LowStockQuerySerializer,
    LowStockVariantSerializer,
    ProductDetailSerializer,
    ProductImageSerializer,
    ProductImageUploadSerializer,
    ProductListSerializer,
    ProductWriteSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
    ReviewWriteSerializer,
    StaffVariantSerializer,
    StockAdjustmentSerializer,
    VariantWriteSerializer,
    WishlistAddSerializer,
    WishlistItemSerializer,
    product_detail_data,
    product_list_data,
)


def _sees_inactive_products(request) -> bool:
    """Staff who may see or change products see inactive ones too; anyone else, staff included, sees
    the catalog as a customer does (an inactive product is a 404)."""
    return user_has_any(request.user, Perm.VIEW_PRODUCT, Perm.CHANGE_PRODUCT)


def _sees_inactive_categories(request) -> bool:
    return user_has_any(request.user, Perm.VIEW_CATEGORY, Perm.CHANGE_CATEGORY)


class AnonymousCatalogCacheMixin:
    """Caches the rendered JSON of anonymous catalog GETs for CATALOG_CACHE_SECONDS (0 disables).

    The key (products/cache.py) is the answer's identity: the action, `cache_lookup()` (the object,
    spelled canonically), the request's origin, `canonical_query()` (the parameters the action knows,
    in one spelling; unknown parameters never count) and the catalog version, which every catalog
    write replaces (`services.catalog_cache_bump`), so a change is visible on the next request.
    Authenticated requests (staff see inactive products) are never cached. A cache that cannot be
    read or written is a miss.
    """

    def cache_lookup(self) -> str:
        return ""

    def canonical_query(self) -> list[tuple[str, str]] | None:
        """The query as the cache key spells it; None: not cacheable. By default the action reads no
        parameter, so none counts."""
        return []

    def cached(self, request, produce):
        if (
            request.method != "GET"
            or request.user.is_authenticated
            or catalog_cache.cache_seconds() <= 0
            or not isinstance(getattr(request, "accepted_renderer", None), JSONRenderer)
        ):
            return produce()
        origin = catalog_cache.cacheable_origin(request)
        query = self.canonical_query()
        key = None
        if origin is not None and query is not None:
            key = catalog_cache.response_key(
                action=f"{type(self).__name__}.{self.action}", origin=origin, lookup=self.cache_lookup(), query=query
            )
        if key is None:
            return produce()
        content = catalog_cache.get(key)
        if content is not None:
            response = HttpResponse(content, content_type="application/json")
            response["X-Catalog-Cache"] = "hit"
            return response
        response = produce()
        if response.status_code == status.HTTP_200_OK:
            catalog_cache.put(key, JSONRenderer().render(response.data))
            response["X-Catalog-Cache"] = "miss"
        return response


# --- Products ----------------------------------------------------------------------------------


class _ProductRowPaginator(Paginator):
    """Counts the filtered products as they are (no join, so PostgreSQL can answer from an index)
    and reads only the page, as `.values()` rows with the category joined. A ranked full-text
    search counts its matches with its page instead (`search_ranked_page`)."""

    def _get_page(self, object_list, number, paginator):
        return super()._get_page(selectors.product_rows(queryset=object_list), number, paginator)

    def page(self, number):
        if not search_is_ranked(self.object_list):
            return super().page(number)
        # Django's page() checks the number against the count, which comes here with the page: an
        # empty page past the first is past the end.
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        ranked = search_ranked_page(self.object_list, offset=(number - 1) * self.per_page, limit=self.per_page)
        if ranked is None:  # nothing to search for: the list's order and count
            return super().page(number)
        ids, total = ranked
        if not ids and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        self.count = total  # the count Django would have asked for (a cached_property)
        return Page(selectors.product_rows_in_order(product_ids=ids), number, self)


class _ProductFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that leaves the FilterSet it validated on the view (`filterset`), whose
    canonical query (`ProductViewSet.canonical_query`, for the page's links) then comes from what it
    validated rather than from validating the parameters again."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        view.filterset = filterset
        return filterset


class ProductPagination(StandardPagination):
    """Pages of product rows. Links are built from the view's canonical query when it has one (the
    list and featured), so they carry only known parameters, spelled as the cache key spells them:
    a cached page never hands one client's parameters to another."""

    django_paginator_class = _ProductRowPaginator

    def canonical_params(self, request) -> list[tuple[str, str]]:
        """The page and the page size as this paginator reads them (the last of repeated values,
        the size capped at max_page_size, an invalid size as the default), each left out when it
        is the default."""
        params = []
        page = request.query_params.get(self.page_query_param) or "1"
        # Not a page number (or "last"): kept as sent; the answer is a 404, which is never cached.
        with contextlib.suppress(ValueError):
            page = str(int(page))
        if page != "1":
            params.append((self.page_query_param, page))
        size = self.get_page_size(request)
        if size != self.page_size:
            params.append((self.page_size_query_param, str(size)))
        return params

    def paginate_queryset(self, queryset, request, view=None):
        self._link_query = None if view is None else view.canonical_query()
        return super().paginate_queryset(queryset, request, view)

    def _link_base(self) -> str:
        if self._link_query is None:
            return self.request.build_absolute_uri()
        query = [(name, value) for name, value in self._link_query if name != self.page_query_param]
        return self.request.build_absolute_uri(self.request.path) + (f"?{urlencode(query)}" if query else "")

    def get_next_link(self):
        if not self.page.has_next():
            return None
        return replace_query_param(self._link_base(), self.page_query_param, self.page.next_page_number())

    def get_previous_link(self):
        if not self.page.has_previous():
            return None
        number = self.page.previous_page_number()
        if number == 1:
            return remove_query_param(self._link_base(), self.page_query_param)
        return replace_query_param(self._link_base(), self.page_query_param, number)


@extend_schema_view(
    list=extend_schema(
        summary="List products",
        description="Active products (staff with the product view permission also see inactive ones), "
        "filtered, ordered and paginated. "
        "An invalid filter value is a 400; an unknown `category` slug is a 400 `unknown_category`. "
        "Query parameters not listed here are ignored (they are not part of the cached answer either), "
        "and the `next`/`previous` links carry the listed ones only, in one canonical spelling.",
        responses={200: ProductListSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="Product detail", responses={200: ProductDetailSerializer}),
    create=extend_schema(
        summary="Create a product (staff)",
        request=ProductWriteSerializer,
        responses={201: ProductDetailSerializer, 403: staff_forbidden(Perm.ADD_PRODUCT)},
    ),
    update=extend_schema(
        summary="Replace a product (staff)",
        request=ProductWriteSerializer,
        responses={200: ProductDetailSerializer, 403: staff_forbidden(Perm.CHANGE_PRODUCT)},
    ),
    partial_update=extend_schema(
        summary="Update a product (staff)",
        request=ProductWriteSerializer,
        responses={200: ProductDetailSerializer, 403: staff_forbidden(Perm.CHANGE_PRODUCT)},
    ),
    destroy=extend_schema(
        summary="Deactivate a product (staff)",
        description="Sets `is_active` to false: customers no longer see it, orders keep their history.",
        responses={204: None, 403: staff_forbidden(Perm.DELETE_PRODUCT)},
    ),
)
@extend_validation_errors([ProductErrorCode.UNKNOWN_CATEGORY], field_name="category", actions=["list", "featured"])
@extend_validation_errors(
    [ProductErrorCode.SKU_TAKEN], field_name="sku", actions=["create", "update", "partial_update"]
)
class ProductViewSet(AnonymousCatalogCacheMixin, GenericViewSet):
    lookup_value_regex = r"\d+"
    filter_backends = [_ProductFilterBackend]
    filterset_class = ProductFilter
    filterset = None  # the FilterSet that filtered this request, once it has
    pagination_class = ProductPagination
    serializer_class = ProductListSerializer

    # The permission each staff action checks; stock movements: reading them is viewing the
    # product, writing one is adjusting stock. Anything else (OPTIONS) needs the view permission.
    STAFF_PERMS = {
        "create": (Perm.ADD_PRODUCT,),
        "update": (Perm.CHANGE_PRODUCT,),
        "partial_update": (Perm.CHANGE_PRODUCT,),
        "destroy": (Perm.DELETE_PRODUCT,),
        "upload_image": (Perm.CHANGE_PRODUCT,),
        "low_stock": (Perm.VIEW_PRODUCT,),
        ("variants", "GET"): (Perm.VIEW_PRODUCT,),
        ("variants", "POST"): (Perm.CHANGE_PRODUCT,),
        ("variant_detail", "GET"): (Perm.VIEW_PRODUCT,),
        ("variant_detail", "PATCH"): (Perm.CHANGE_PRODUCT,),
        ("variant_detail", "DELETE"): (Perm.CHANGE_PRODUCT,),
        ("stock_adjustments", "GET"): (Perm.VIEW_PRODUCT,),
        ("stock_adjustments", "POST"): (Perm.ADJUST_STOCK,),
    }

    def get_permissions(self):
        if self.action in ("list", "retrieve", "featured"):
            return [AllowAny()]
        perms = self.STAFF_PERMS.get((self.action, self.request.method)) or self.STAFF_PERMS.get(
            self.action, (Perm.VIEW_PRODUCT,)
        )
        return [StaffPermission.require(*perms)()]

    def get_queryset(self):
        qs = selectors.product_list(include_inactive=_sees_inactive_products(self.request))
        if self.action == "featured":
            qs = qs.filter(is_featured=True, is_active=True)
        return qs

    def cache_lookup(self) -> str:
        pk = self.kwargs.get("pk", "")
        try:
            return str(int(pk))  # /api/products/007/ is product 7
        except ValueError:
            return pk  # no product has that id: the answer is a 404, which is never cached

    def canonical_query(self) -> list[tuple[str, str]] | None:
        """List and featured: the valid filters (`ProductFilter.canonical_params`), then the page
        and page size; None when a filter is invalid (the answer is a 400). Detail reads no
        parameter. Other actions have no canonical form (never cached, links as sent)."""
        if self.action == "retrieve":
            return []
        if self.action not in ("list", "featured"):
            return None
        if not hasattr(self, "_canonical_query"):
            if self.filterset is not None:
                filters = self.filterset.canonical()
            else:  # the catalog cache asks before filtering
                filters = self.filterset_class.canonical_params(self.request.query_params)
            self._canonical_query = None if filters is None else filters + self.paginator.canonical_params(self.request)
        return self._canonical_query

    def get_object(self):
        """The product alone (no joins, no images), for the staff actions: only callers who passed
        the action's permission get here, and they may act on an inactive product (to reactivate it)."""
        return selectors.product_get_visible(product_id=self.kwargs["pk"], include_inactive=True)

    def _detail_data(self, product_id: int, *, include_inactive: bool) -> dict:
        """Three queries whatever the number of variants: the row, its images, its active variants."""
        row = selectors.product_get(product_id=product_id, include_inactive=include_inactive)
        images = selectors.product_images_by_id(product_ids=[row["id"]])[row["id"]]
        variants = selectors.product_variant_rows(product_id=row["id"])
        return product_detail_data(row, images, variants, self.request)

    def _render_detail(self, product, status_code=status.HTTP_200_OK):
        return Response(self._detail_data(product.pk, include_inactive=True), status=status_code)

    def _paginated_list(self, queryset):
        rows = self.paginate_queryset(queryset)
        images = selectors.product_images_by_id(product_ids=[row["id"] for row in rows])
        return self.get_paginated_response(product_list_data(rows, images, self.request))

    def list(self, request):
        return self.cached(request, lambda: self._paginated_list(self.filter_queryset(self.get_queryset())))

    def retrieve(self, request, pk=None):
        return self.cached(
            request,
            lambda: Response(self._detail_data(pk, include_inactive=_sees_inactive_products(request))),
        )

    @extend_schema(summary="Featured products", responses={200: ProductListSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def featured(self, request):
        return self.cached(request, lambda: self._paginated_list(self.filter_queryset(self.get_queryset())))

    @extend_schema(
        summary="Low-stock variants (staff)",
        description="Variants on sale (of active products) with at most `threshold` units left (default "
        "LOW_STOCK_THRESHOLD), emptiest first.",
        parameters=[LowStockQuerySerializer],
        responses={200: LowStockVariantSerializer(many=True), 403: staff_forbidden(Perm.VIEW_PRODUCT)},
    )
    @action(detail=False, methods=["get"], url_path="low-stock", filter_backends=[])
    def low_stock(self, request):
        query = LowStockQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        threshold = query.validated_data.get("threshold", settings.LOW_STOCK_THRESHOLD)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.variant_low_stock_list(threshold=threshold), request, view=self)
        return paginator.get_paginated_response(LowStockVariantSerializer(page, many=True).data)

    def create(self, request):
        data = self._validated(ProductWriteSerializer(data=request.data))
        product = services.product_create(**data)
        return self._render_detail(product, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        product = self.get_object()
        data = self._validated(ProductWriteSerializer(data=request.data, partial=partial, context={"updating": True}))
        services.product_update(product=product, data=data)
        return self._render_detail(product)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.product_deactivate(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Upload a product image (staff)",
        description="Stores the image on the configured media storage (S3, Cloudinary or the local disk) and "
        "answers with its URL: a signed, expiring S3 URL unless AWS_QUERYSTRING_AUTH=0 or AWS_S3_CUSTOM_DOMAIN.",
        request=ProductImageUploadSerializer,
        responses={
            201: ProductImageSerializer,
            403: staff_forbidden(Perm.CHANGE_PRODUCT),
            503: OpenApiResponse(
                ErrorResponseSerializer,
                description="`media_storage_unavailable`: the media storage did not take the file; nothing was "
                "saved, retry.",
                examples=[
                    OpenApiExample(
                        "media_storage_unavailable",
                        value={
                            "type": "server_error",
                            "errors": [
                                {
                                    "code": "media_storage_unavailable",
                                    "detail": "The media storage did not accept the image; nothing was saved. "
                                    "Try again.",
                                    "attr": None,
                                }
                            ],
                        },
                    )
                ],
            ),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="images",
        parser_classes=[MultiPartParser],
        filter_backends=[],
    )
    def upload_image(self, request, pk=None):
        product = self.get_object()
        data = self._validated(ProductImageUploadSerializer(data=request.data))
        image = services.product_image_add(product=product, upload=data["image"], alt_text=data["alt"])
        return Response(ProductImageSerializer(image, context={"request": request}).data, status=201)

    @extend_schema(
        methods=["GET"],
        summary="Stock movements of a product (staff)",
        description="Every staff adjustment of the product's stock, newest first.",
        responses={200: StockAdjustmentSerializer(many=True), 403: staff_forbidden(Perm.VIEW_PRODUCT)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Adjust a product's stock (staff)",
        description="Adds (delta > 0) or removes (delta < 0) units with one conditional update, so it never "
        "undoes what checkouts took meanwhile; 409 `out_of_stock` when removing more than is in stock.",
        request=StockAdjustmentSerializer,
        responses={
            201: StockAdjustmentSerializer,
            403: staff_forbidden(Perm.ADJUST_STOCK),
            409: ErrorResponseSerializer,
        },
    )
    @action(detail=True, methods=["get", "post"], url_path="stock-adjustments", filter_backends=[])
    def stock_adjustments(self, request, pk=None):
        product = self.get_object()
        if request.method == "GET":
            paginator = StandardPagination()
            page = paginator.paginate_queryset(selectors.stock_movement_list(product=product), request, view=self)
            return paginator.get_paginated_response(StockAdjustmentSerializer(page, many=True).data)
        data = self._validated(StockAdjustmentSerializer(data=request.data))
        movement = services.product_stock_adjust(product_id=product.pk, actor=request.user, **data)
        return Response(StockAdjustmentSerializer(movement).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="Variants of a product (staff)",
        description="Every variant, inactive ones included, in position order.",
        responses={200: StaffVariantSerializer(many=True), 403: staff_forbidden(Perm.VIEW_PRODUCT)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a variant (staff)",
        description="The variant names the same options as the product's others (400 `option_mismatch`); a "
        "combination appears once (409 `duplicate_variant`); its SKU is unique in the shop (400 `sku_taken`). "
        "The product's price, price_max, stock and variant_count follow.",
        request=VariantWriteSerializer,
        responses={
            201: StaffVariantSerializer,
            403: staff_forbidden(Perm.CHANGE_PRODUCT),
            409: OpenApiResponse(ErrorResponseSerializer, description="`duplicate_variant`"),
        },
    )
    @action(detail=True, methods=["get", "post"], url_path="variants", filter_backends=[], pagination_class=None)
    def variants(self, request, pk=None):
        product = self.get_object()
        context = {"request": request}
        if request.method == "GET":
            variants = selectors.product_variant_list(product=product)
            return Response(StaffVariantSerializer(variants, many=True, context=context).data)
        data = self._validated(VariantWriteSerializer(data=request.data))
        variant = services.variant_create(product=product, **data)
        variant = selectors.product_variant_get(product=product, variant_id=variant.pk)
        return Response(StaffVariantSerializer(variant, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="A variant of a product (staff)",
        responses={200: StaffVariantSerializer, 403: staff_forbidden(Perm.VIEW_PRODUCT)},
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Update a variant (staff)",
        description="`stock` is refused (400 `stock_not_writable`): adjust it with a stock adjustment naming "
        "`variant_id`. The only variant of a product may change its option names; any other keeps the "
        "product's (400 `option_mismatch`).",
        request=VariantWriteSerializer,
        responses={200: StaffVariantSerializer, 403: staff_forbidden(Perm.CHANGE_PRODUCT)},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Deactivate a variant (staff)",
        description="Takes it off sale (orders keep referring to it). The last variant on sale of an active "
        "product cannot go: 409 `last_variant`.",
        responses={
            204: None,
            403: staff_forbidden(Perm.CHANGE_PRODUCT),
            409: OpenApiResponse(ErrorResponseSerializer, description="`last_variant`"),
        },
    )
    @action(
        detail=True,
        methods=["get", "patch", "delete"],
        url_path=r"variants/(?P<variant_id>\d+)",
        filter_backends=[],
    )
    def variant_detail(self, request, pk=None, variant_id=None):
        product = self.get_object()
        variant = selectors.product_variant_get(product=product, variant_id=int(variant_id))
        context = {"request": request}
        if request.method == "DELETE":
            services.variant_deactivate(variant=variant)
            return Response(status=status.HTTP_204_NO_CONTENT)
        if request.method == "PATCH":
            data = self._validated(VariantWriteSerializer(data=request.data, partial=True))
            services.variant_update(variant=variant, data=data)
            variant = selectors.product_variant_get(product=product, variant_id=variant.pk)
        return Response(StaffVariantSerializer(variant, context=context).data)

    @staticmethod
    def _validated(serializer) -> dict:
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


ProductViewSet = extend_validation_errors(
    [
        ProductErrorCode.INVALID_IMAGE,
        ProductErrorCode.IMAGE_TOO_LARGE,
        ProductErrorCode.IMAGE_TYPE_NOT_ALLOWED,
        ProductErrorCode.IMAGE_TOO_MANY_PIXELS,
        ProductErrorCode.IMAGE_TOO_MANY_FRAMES,
    ],
    field_name="image",
    actions=["upload_image"],
)(ProductViewSet)
ProductViewSet = extend_validation_errors(
    [ProductErrorCode.STOCK_NOT_WRITABLE], field_name="stock", actions=["update", "partial_update", "variant_detail"]
)(ProductViewSet)
ProductViewSet = extend_validation_errors(
    [ProductErrorCode.OPTION_MISMATCH, ProductErrorCode.INVALID_OPTIONS],
    field_name="options",
    actions=["variants", "variant_detail"],
)(ProductViewSet)
ProductViewSet = extend_validation_errors(
    [
        *VARIANT_INPUT_ERROR_CODES,
        ProductErrorCode.OPTION_MISMATCH,
        ProductErrorCode.INVALID_OPTIONS,
        ProductErrorCode.SKU_TAKEN,
        ProductErrorCode.TOO_MANY_VARIANTS,
        ProductErrorCode.INVALID,
    ],
    field_name="variants",
    actions=["create", "update", "partial_update"],
)(ProductViewSet)
ProductViewSet = extend_validation_errors(
    [ProductErrorCode.INVALID], field_name="image_id", actions=["variants", "variant_detail"]
)(ProductViewSet)
ProductViewSet = extend_validation_errors(
    [ProductErrorCode.SKU_TAKEN], field_name="sku", actions=["variants", "variant_detail"]
)(ProductViewSet)
ProductViewSet = extend_validation_errors(
    [ProductErrorCode.VARIANT_REQUIRED], field_name="price", actions=["update", "partial_update"]
)(ProductViewSet)
ProductViewSet = extend_validation_errors(
    [ProductErrorCode.VARIANT_REQUIRED], field_name="variant_id", actions=["stock_adjustments"]
)(ProductViewSet)


# --- Reviews -----------------------------------------------------------------------------------


class _ProductChildView(GenericAPIView):
    filter_backends: list = []

    def visible_product(self, product_id: int, *, for_write: bool = False):
        return selectors.product_get_visible(
            product_id=product_id, include_inactive=_sees_inactive_products(self.request) and not for_write
        )


@extend_validation_errors([ProductErrorCode.ALREADY_REVIEWED], field_name="non_field_errors", methods=["post"])
class ProductReviewListView(_ProductChildView):
    """GET: a product's visible reviews, newest first (anyone). POST: the user's review (one per product)."""

    pagination_class = StandardPagination
    serializer_class = ReviewSerializer

    def get_permissions(self):
        if self.request.method == "GET":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(summary="List a product's reviews", responses={200: ReviewSerializer(many=True)})
    def get(self, request, pk: int):
        product = self.visible_product(pk)
        page = self.paginate_queryset(selectors.review_list(product=product))
        return self.get_paginated_response(ReviewSerializer(page, many=True).data)

    @extend_schema(
        summary="Review a product",
        description="One review per user and product: a second POST is a 400 `already_reviewed` "
        "(edit the first with PATCH). `verified_purchase` is true when the author has a paid, shipped "
        "or delivered order containing the product.",
        request=ReviewWriteSerializer,
        responses={201: ReviewSerializer},
    )
    def post(self, request, pk: int):
        product = self.visible_product(pk, for_write=True)
        serializer = ReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_create(product=product, user=request.user, **serializer.validated_data)
        review = selectors.review_get_annotated(review_id=review.pk)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class ProductReviewDetailView(_ProductChildView):
    """The author's own review; anyone else's is a 404."""

    permission_classes = [IsAuthenticated]
    serializer_class = ReviewSerializer

    @extend_schema(summary="Edit your review", request=ReviewUpdateSerializer, responses={200: ReviewSerializer})
    def patch(self, request, pk: int, review_id: int):
        product = self.visible_product(pk, for_write=True)
        review = selectors.review_get_for_author(product=product, review_id=review_id, user=request.user)
        serializer = ReviewUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.review_update(review=review, data=dict(serializer.validated_data))
        review = selectors.review_get_annotated(review_id=review.pk)
        return Response(ReviewSerializer(review).data)

    @extend_schema(summary="Delete your review", responses={204: None})
    def delete(self, request, pk: int, review_id: int):
        product = self.visible_product(pk, for_write=True)
        review = selectors.review_get_for_author(product=product, review_id=review_id, user=request.user)
        services.review_delete(review=review)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Wishlist ----------------------------------------------------------------------------------


@extend_validation_errors([ProductErrorCode.PRODUCT_UNAVAILABLE], field_name="product_id", methods=["post"])
class WishlistView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = StandardPagination
    serializer_class = WishlistItemSerializer
    filter_backends: list = []

    @extend_schema(summary="Your wishlist", responses={200: WishlistItemSerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(selectors.wishlist_list(user=request.user))
        return self.get_paginated_response(WishlistItemSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Add a product to your wishlist",
        description="Idempotent: 201 with the new item, or 200 with the existing item when the product is "
        "already on the list. An unknown or inactive product is a 400 `product_unavailable`.",
        request=WishlistAddSerializer,
        responses={201: WishlistItemSerializer, 200: WishlistItemSerializer},
    )
    def post(self, request):
        serializer = WishlistAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item, created = services.wishlist_add(user=request.user, product_id=serializer.validated_data["product_id"])
        item = selectors.wishlist_item_get(user=request.user, item_id=item.pk)
        return Response(
            WishlistItemSerializer(item, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class WishlistItemView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    filter_backends: list = []
    serializer_class = WishlistItemSerializer

    @extend_schema(summary="Remove an item from your wishlist", responses={204: None})
    def delete(self, request, pk: int):
        services.wishlist_remove(user=request.user, item_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Categories --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Category tree",
        description="Active categories as a tree (roots first, each with its `children`), not paginated.",
        responses={200: CategoryTreeSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="Category with its sub-categories", responses={200: CategoryDetailSerializer}),
    create=extend_schema(
        summary="Create a category (staff)",
        request=CategoryWriteSerializer,
        responses={201: CategoryDetailSerializer, 403: staff_forbidden(Perm.ADD_CATEGORY)},
    ),
    update=extend_schema(
        summary="Replace a category (staff)",
        request=CategoryWriteSerializer,
        responses={200: CategoryDetailSerializer, 403: staff_forbidden(Perm.CHANGE_CATEGORY)},
    ),
    partial_update=extend_schema(
        summary="Update a category (staff)",
        request=CategoryWriteSerializer,
        responses={200: CategoryDetailSerializer, 403: staff_forbidden(Perm.CHANGE_CATEGORY)},
    ),
    destroy=extend_schema(
        summary="Delete an empty category (staff)",
        description="409 `category_not_empty` while it still has products or sub-categories.",
        responses={
            204: None,
            403: staff_forbidden(Perm.DELETE_CATEGORY),
            409: OpenApiResponse(ErrorResponseSerializer),
        },
    ),
)
@extend_validation_errors(
    [ProductErrorCode.SLUG_TAKEN], field_name="slug", actions=["create", "update", "partial_update"]
)
@extend_validation_errors(
    [ProductErrorCode.CATEGORY_CYCLE], field_name="parent", actions=["create", "update", "partial_update"]
)
class CategoryViewSet(AnonymousCatalogCacheMixin, GenericViewSet):
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    pagination_class = None
    filter_backends: list = []
    serializer_class = CategoryDetailSerializer
    queryset = Category.objects.all()

    STAFF_PERMS = {
        "create": Perm.ADD_CATEGORY,
        "update": Perm.CHANGE_CATEGORY,
        "partial_update": Perm.CHANGE_CATEGORY,
        "destroy": Perm.DELETE_CATEGORY,
    }

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [AllowAny()]
        return [StaffPermission.require(self.STAFF_PERMS.get(self.action, Perm.VIEW_CATEGORY))()]

    def cache_lookup(self) -> str:
        return self.kwargs.get("slug", "")

    def get_serializer_class(self):
        # OPTIONS describes what a client may send; the recursive tree (output only) would never end.
        if self.action in ("metadata", "create", "update", "partial_update"):
            return CategoryWriteSerializer
        return CategoryDetailSerializer

    def _detail(self, slug: str, status_code=status.HTTP_200_OK):
        node = selectors.category_get_node(slug=slug, include_inactive=True)
        return Response(CategoryDetailSerializer(node).data, status=status_code)

    def list(self, request):
        return self.cached(
            request,
            lambda: Response(CategoryTreeSerializer(selectors.category_forest(active_only=True).roots, many=True).data),
        )

    def retrieve(self, request, slug=None):
        return self.cached(
            request,
            lambda: Response(
                CategoryDetailSerializer(
                    selectors.category_get_node(slug=slug, include_inactive=_sees_inactive_categories(request))
                ).data
            ),
        )

    def create(self, request):
        serializer = CategoryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_create(**serializer.validated_data)
        return self._detail(category.slug, status.HTTP_201_CREATED)

    def update(self, request, slug=None, partial=False):
        category = get_object_or_404(Category, slug=slug)
        serializer = CategoryWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        category = services.category_update(category=category, data=dict(serializer.validated_data))
        return self._detail(category.slug)

    def partial_update(self, request, slug=None):
        return self.update(request, slug, partial=True)

    def destroy(self, request, slug=None):
        services.category_delete(category=get_object_or_404(Category, slug=slug))
        return Response(status=status.HTTP_204_NO_CONTENT)
