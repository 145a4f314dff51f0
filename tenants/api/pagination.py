from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class InvalidCursor(APIException):
    """A `cursor` that no `next`/`previous` link of this API made: bad input, not a missing page."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_cursor"
    default_detail = _("This cursor is not valid: follow the next and previous links as given.")


class Pagination(CursorPagination):
    """Cursor pagination: stable under inserts, cheap at any depth. Views name their order.

    Every list answers `{"next": url|null, "previous": url|null, "results": [...]}`;
    `page_size` (1 to 200) sets the page's length, other values give the default 50.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("id",)

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "cursor_ordering", self.ordering))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                # Any value is accepted: the schema says so rather than promise a 400.
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size}; any other value gives"
                    f" the default, {self.page_size}."
                )
                parameter["schema"] = {}
        return parameters

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound as exc:  # DRF's answer to a bad cursor
            raise InvalidCursor from exc
