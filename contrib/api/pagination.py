from typing import Any

from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from contrib.api.params import MAX_INTEGER, integer_param


class Pagination(PageNumberPagination):
    """`?page=N`, 50 a page by default; `?page_size=` from 1 to 500. A page number or size that
    is not one is a 400 naming it (DRF's own falls back to the default size, or answers 404);
    a page past the last is a 404, as in DRF."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()  # the schema says a page is a number; `?page=last` is not one

    def get_page_size(self, request: Request) -> int:
        return integer_param(
            request.query_params,
            self.page_size_query_param,
            default=self.page_size,
            minimum=1,
            maximum=self.max_page_size,
        )

    def get_page_number(self, request: Request, paginator: Paginator) -> Any:
        return integer_param(request.query_params, self.page_query_param, default=1, minimum=1)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        bounds = {
            self.page_query_param: {"minimum": 1, "maximum": MAX_INTEGER},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
