"""Address book endpoints: the user's own addresses only; anyone else's address is a 404."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status, viewsets
from rest_framework.response import Response

from novacart.error_codes import CoreErrorCode

from . import selectors, services
from .error_codes import AddressErrorCode
from .models import Address
from .serializers import AddressSerializer

_WRITES = ["create", "update", "partial_update"]


@extend_schema_view(
    list=extend_schema(summary="Your addresses", description="Your addresses, the default first, then the newest."),
    create=extend_schema(
        summary="Add an address",
        description="Adds an address. The first one becomes the default; `is_default: true` moves the default.",
    ),
    retrieve=extend_schema(
        summary="One of your addresses", description="One of your addresses (another user's is a 404)."
    ),
    update=extend_schema(
        summary="Replace an address",
        description="Replaces an address's fields; `is_default: true` makes it the default.",
    ),
    partial_update=extend_schema(
        summary="Update an address", description="Changes some fields; `is_default: true` makes it the default."
    ),
    destroy=extend_schema(
        summary="Delete an address",
        description="Deletes an address; deleting the default promotes the most recent other one.",
    ),
)
@extend_validation_errors([AddressErrorCode.ADDRESS_LIMIT_REACHED], field_name="non_field_errors", methods=["post"])
@extend_validation_errors(
    [AddressErrorCode.INVALID_PHONE, CoreErrorCode.CONTROL_CHARACTERS], field_name="phone", actions=_WRITES
)
@extend_validation_errors(
    [AddressErrorCode.INVALID_POSTAL_CODE, CoreErrorCode.CONTROL_CHARACTERS],
    field_name="postal_code",
    actions=_WRITES,
)
@extend_validation_errors([AddressErrorCode.INVALID_COUNTRY], field_name="country", actions=_WRITES)
class AddressViewSet(viewsets.GenericViewSet):
    serializer_class = AddressSerializer
    queryset = Address.objects.none()  # every query goes through the selectors, scoped to the user

    def get_queryset(self):
        return selectors.address_list(user=self.request.user)

    def get_object(self) -> Address:
        return selectors.address_get_for_user(user=self.request.user, address_id=self.kwargs["pk"])

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AddressSerializer(page, many=True).data)

    def create(self, request):
        serializer = AddressSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.address_create(user=request.user, data=serializer.validated_data)
        return Response(AddressSerializer(address).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk: int):
        return Response(AddressSerializer(self.get_object()).data)

    def update(self, request, pk: int, partial: bool = False):
        serializer = AddressSerializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        address = services.address_update(address=serializer.instance, data=serializer.validated_data)
        return Response(AddressSerializer(address).data)

    def partial_update(self, request, pk: int):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk: int):
        services.address_delete(address=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Make an address your default",
        request=None,
        responses={200: AddressSerializer},
        description="Makes this address your one default address (the previous default is unset).",
    )
    def set_default(self, request, pk: int):
        address = services.address_set_default(user=request.user, address_id=pk)
        return Response(AddressSerializer(address).data)


# Every free-text field refuses control characters (a NUL byte, bidi overrides, line separators).
for _field in ("full_name", "line1", "line2", "city", "state"):
    AddressViewSet = extend_validation_errors([CoreErrorCode.CONTROL_CHARACTERS], field_name=_field, actions=_WRITES)(
        AddressViewSet
    )
