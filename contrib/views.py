"""Pages of the contrib app."""

from datetime import timedelta

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from contrib.models import Contribution, Contributor, Issue, PullRequest, Repository
from contrib.selectors import contributors_with_scores


def home(request: HttpRequest) -> HttpResponse:
    """The community at a glance: size, the last 30 days, and the top contributors."""
    month_ago = timezone.now() - timedelta(days=30)
    top = (
        contributors_with_scores(since=month_ago, include_bots=False)
        .filter(contribution_count__gt=0)  # type: ignore[misc]  # annotated field
        .order_by("-score", "login")[:10]
    )
    context = {
        "contributors": Contributor.objects.filter(merged_into__isnull=True).count(),
        "contributions": Contribution.objects.count(),
        "contributions_month": Contribution.objects.filter(occurred_at__gte=month_ago).count(),
        "repositories": Repository.objects.filter(tracked=True).count(),
        "open_issues": Issue.objects.filter(state="open").count(),
        "open_pull_requests": PullRequest.objects.filter(state="open").count(),
        "top": top,
    }
    return render(request, "contrib/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the proxy and the process manager."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
