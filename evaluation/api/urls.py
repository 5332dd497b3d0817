from django.urls import path
from rest_framework.routers import DefaultRouter

from evaluation.api import views, workers

router = DefaultRouter()
router.include_root_view = False  # the API's front door is contrib's ApiRootView
router.include_format_suffixes = False  # as contrib.api.urls says
router.register("benchmarks", views.BenchmarkViewSet, basename="benchmark")
router.register("submissions", views.SubmissionViewSet, basename="submission")

urlpatterns = router.urls

urlpatterns += [
    path("worker/hello/", workers.HelloView.as_view(), name="worker-hello"),
    path("worker/calibration/", workers.CalibrationView.as_view()),
    path("worker/jobs/<int:submission_id>/claim/", workers.ClaimView.as_view()),
    path("worker/jobs/<int:submission_id>/files/", workers.FilesView.as_view()),
    path("worker/jobs/<int:submission_id>/runs/", workers.RunStartView.as_view()),
    path("worker/jobs/<int:submission_id>/fail/", workers.FailView.as_view()),
    path("worker/jobs/<int:submission_id>/finish/", workers.FinishView.as_view()),
    path("worker/runs/<int:run_id>/heartbeat/", workers.HeartbeatView.as_view()),
    path("worker/runs/<int:run_id>/result/", workers.ResultView.as_view()),
    path("worker/data/<str:digest>/", workers.DataView.as_view()),
]
