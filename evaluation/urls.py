from django.urls import path, re_path

from evaluation import views
from evaluation.feeds import FinishedSubmissions

urlpatterns = [
    path("leaderboard/<slug:slug>/", views.leaderboard, name="leaderboard"),
    re_path(
        r"^leaderboard/(?P<slug>[-\w]+)/export\.(?P<kind>csv|json)$",
        views.leaderboard_export,
        name="leaderboard-export",
    ),
    re_path(
        r"^submissions/export\.(?P<kind>csv|json)$",
        views.submissions_export,
        name="submissions-export",
    ),
    path("submissions/", views.submissions, name="submissions"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path(
        "submissions/<int:pk>/<str:action>/",
        views.submission_action,
        name="submission-action",
    ),
    path("submit/", views.submit, name="submit"),
    path("badges/record/<slug:slug>.svg", views.badge_record, name="badge-record"),
    path("cards/record/<slug:slug>.png", views.card_record, name="card-record"),
    path(
        "badges/c/<str:login>/record/<slug:slug>.svg",
        views.badge_record_holder,
        name="badge-record-holder",
    ),
    path(
        "benchmarks/<slug:slug>/reference.tar.gz",
        views.benchmark_reference,
        name="benchmark-reference",
    ),
    path("feeds/<str:key>/submissions.atom", FinishedSubmissions(), name="submission-feed"),
]
