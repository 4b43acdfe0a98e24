"""Test-only URLs: the real project's routes plus views that fail on purpose."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

SECRET_TEXT = "kaboom-internal-detail-4f1c"


class BoomView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError(SECRET_TEXT)

    def post(self, request):
        request.data  # parsed first, as a real view would, so the error report can show the body  # noqa: B018
        raise RuntimeError(SECRET_TEXT)


class UserByIdView(APIView):
    """An object lookup that can miss: an unknown id is a 404 in the error shape."""

    def get(self, request, pk):
        user = get_object_or_404(get_user_model(), pk=pk)
        return Response({"id": user.pk})


def plain_django_boom(request):
    raise RuntimeError(SECRET_TEXT)


urlpatterns = [
    path("boom/drf/", BoomView.as_view()),
    path("boom/django/", plain_django_boom),
    path("boom/users/<int:pk>/", UserByIdView.as_view()),
    path("", include("novacart.urls")),
]

handler404 = "novacart.views.handler404"
handler500 = "novacart.views.handler500"
