from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from contrib.api.views import api_not_found

handler500 = "contrib.views.server_error"

urlpatterns = [
    # First: GitHub's deliveries are the busiest address, and Django tries patterns in order
    # (resolving past every page's pattern was 7% of an intake's time, benchmarks/RESULTS.md).
    path("webhooks/", include("contrib.github.urls")),
    path("", include("contrib.urls")),
    path("", include("evaluation.urls")),
    path("", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("contrib.api.urls")),
    path("api/", include("evaluation.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP forbids inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # Last of the API: an address there that names no operation is a JSON 404.
    re_path(r"^api/(?P<path>.*)/$", api_not_found),
    path("api-auth/", include("rest_framework.urls")),
]
