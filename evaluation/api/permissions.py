"""The API's side of `evaluation.policies`: the same rules as the pages and the bot."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from evaluation.policies import submission_may, user_is_author, user_is_maintainer


class IsMaintainer(BasePermission):
    """Staff users run the platform: approve, re-run, cancel anyone's submission."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_maintainer(request.user)


class MaySubmissionAction(BasePermission):
    """The policy for the view's action on this submission (cancel: its author or a maintainer;
    approve, re-run: a maintainer)."""

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return submission_may(
            action=getattr(view, "action", ""),
            is_author=user_is_author(submission=obj, user=request.user),
            is_maintainer=user_is_maintainer(request.user),
        )
