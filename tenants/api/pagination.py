from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class Pagination(CursorPagination):
    """Cursor pagination: stable under inserts, cheap at any depth. Views name their order."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("id",)

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "cursor_ordering", self.ordering))
