"""URLs of the benchmark settings only: every portal URL plus the bare comparison endpoint.

`POST /bench/bare` is the floor the real send endpoint is measured against: DRF parses and validates the JSON
and one raw INSERT goes into `bench_bare` (a table bench/common.py creates with raw SQL in the throwaway
benchmark database). No authentication, throttle or request log: only what any DRF write endpoint pays.
"""

from django.db import connection
from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class BareInput(serializers.Serializer):
    body = serializers.CharField(max_length=2000)


class BareInsertAPI(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def post(self, request):
        serializer = BareInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_bare (body) VALUES (%s) RETURNING id", [serializer.validated_data["body"]]
            )
            (row_id,) = cursor.fetchone()
        return Response({"id": row_id}, status=201)


urlpatterns = [
    path("bench/bare", BareInsertAPI.as_view(), name="bench_bare"),
    path("", include("portal.urls")),
]
