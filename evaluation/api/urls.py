from rest_framework.routers import DefaultRouter

from evaluation.api import views

router = DefaultRouter()
router.include_root_view = False  # the API's front door is contrib's ApiRootView
router.register("benchmarks", views.BenchmarkViewSet, basename="benchmark")
router.register("submissions", views.SubmissionViewSet, basename="submission")

urlpatterns = router.urls
