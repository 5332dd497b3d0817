from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as site_urls


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    """The ceiling of the stack: read the body, answer 202, touch nothing else."""
    request.read()
    return HttpResponse(status=202)


urlpatterns = [path("bench/bare/", bare), path("", include(site_urls))]
