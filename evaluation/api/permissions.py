from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class IsMaintainer(BasePermission):
    """Staff users run the platform: approve, re-run, cancel anyone's submission."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_staff)


class IsSubmissionOwnerOrMaintainer(BasePermission):
    """The submission's author (through their linked contributor) or a maintainer."""

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        user = request.user
        if user.is_staff:
            return True
        contributor = getattr(obj, "contributor", None)
        return contributor is not None and contributor.user_id == user.pk
