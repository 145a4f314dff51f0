from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class BusinessOutputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    slug = serializers.CharField()
    timezone = serializers.CharField()
    language = serializers.CharField()
    currency = serializers.CharField()
    country = serializers.CharField()


class CurrentBusinessView(APIView):
    """The business the key (or the logged-in member) acts for."""

    @extend_schema(responses=BusinessOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(BusinessOutputSerializer(request._request.tenant).data)  # type: ignore[attr-defined]
