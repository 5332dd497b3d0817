from django.urls import path, re_path

from evaluation.feeds import FinishedSubmissions
from evaluation.views import leaderboards, pictures, submissions

urlpatterns = [
    path("leaderboard/<slug:slug>/", leaderboards.leaderboard, name="leaderboard"),
    re_path(
        r"^leaderboard/(?P<slug>[-\w]+)/export\.(?P<kind>csv|json)$",
        leaderboards.leaderboard_export,
        name="leaderboard-export",
    ),
    re_path(
        r"^submissions/export\.(?P<kind>csv|json)$",
        submissions.submissions_export,
        name="submissions-export",
    ),
    path("submissions/", submissions.submissions, name="submissions"),
    path("submissions/<int:pk>/", submissions.submission_detail, name="submission"),
    path(
        "submissions/<int:pk>/<str:action>/",
        submissions.submission_action,
        name="submission-action",
    ),
    path("submit/", submissions.submit, name="submit"),
    path("badges/record/<slug:slug>.svg", pictures.badge_record, name="badge-record"),
    path("cards/record/<slug:slug>.png", pictures.card_record, name="card-record"),
    path(
        "badges/c/<str:login>/record/<slug:slug>.svg",
        pictures.badge_record_holder,
        name="badge-record-holder",
    ),
    path(
        "benchmarks/<slug:slug>/reference.tar.gz",
        submissions.benchmark_reference,
        name="benchmark-reference",
    ),
    path("feeds/<str:key>/submissions.atom", FinishedSubmissions(), name="submission-feed"),
]
