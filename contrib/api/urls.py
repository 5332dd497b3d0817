from django.urls import path
from rest_framework.routers import DefaultRouter

from contrib.api import bounties, docs, views

router = DefaultRouter()
router.include_root_view = False  # one front door for the whole API: views.ApiRootView
# No `.json` suffix addresses: the schema has none (so nothing fuzzed them), their actions took
# no `format` and answered 500; `?format=json` and the Accept header choose the format.
router.include_format_suffixes = False
router.register("contributors", views.ContributorViewSet, basename="contributor")
router.register("contributions", views.ContributionViewSet, basename="contribution")
router.register("repositories", views.RepositoryViewSet, basename="repository")
router.register("issues", views.IssueViewSet, basename="issue")
router.register("pull-requests", views.PullRequestViewSet, basename="pull-request")
router.register("badges", views.BadgeViewSet, basename="badge")
router.register("awards", views.AwardViewSet, basename="award")
router.register("bounties", bounties.BountyViewSet, basename="bounty")
router.register("doc-pages", docs.DocPageViewSet, basename="doc")
router.register("sponsorships", views.SponsorshipViewSet, basename="sponsorship")

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="api-root"),
    path("honor-rolls/", views.HonorRollView.as_view(), name="honor-roll"),
    path("health/", views.HealthView.as_view(), name="health"),
    path(
        "contributors/<str:login>/profile/",
        views.ContributorProfileView.as_view(),
        name="contributor-profile",
    ),
    *router.urls,
]
