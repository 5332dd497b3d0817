from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("contrib.urls")),
    path("", include("evaluation.urls")),
    path("", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("contrib.api.urls")),
    path("api/", include("evaluation.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api-auth/", include("rest_framework.urls")),
    path("webhooks/", include("contrib.github.urls")),
]
