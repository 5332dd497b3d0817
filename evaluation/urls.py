from django.urls import path

from evaluation import views

urlpatterns = [
    path("leaderboard/<slug:slug>/", views.leaderboard, name="leaderboard"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path(
        "submissions/<int:pk>/<str:action>/",
        views.submission_action,
        name="submission-action",
    ),
    path("submit/", views.submit, name="submit"),
]
