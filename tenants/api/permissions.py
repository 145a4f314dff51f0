from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenants.api.authentication import request_role
from tenants.models import ApiKeyRole


class IsBusinessMember(BasePermission):
    """Authenticated for the active business: a member (session) or one of its API keys.

    Read-only keys may only read.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        if getattr(request._request, "tenant", None) is None:
            return False
        role = request_role(request)
        if role is None:
            return False
        if role == ApiKeyRole.READ_ONLY:
            return request.method in SAFE_METHODS
        return True
