"""Who may do what through the API. A role's rank is compared; read-only keys only read."""

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenants.api.authentication import request_role
from tenants.models import ROLE_RANK, ApiKeyRole, Role

# API key roles mapped onto the members' ranks (a read-only key ranks below everyone).
KEY_RANK: dict[str, int] = {
    ApiKeyRole.ADMIN: ROLE_RANK[Role.ADMIN],
    ApiKeyRole.RECEPTIONIST: ROLE_RANK[Role.RECEPTIONIST],
    ApiKeyRole.READ_ONLY: 0,
}


def request_rank(request: Any) -> int | None:
    role = request_role(request)
    if role is None:
        return None
    if getattr(request, "auth", None) is not None:
        return KEY_RANK[role]
    return ROLE_RANK[role]


class IsBusinessMember(BasePermission):
    """Authenticated for the active business (a member or one of its keys); read-only keys read."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if getattr(request._request, "tenant", None) is None:
            return False
        rank = request_rank(request)
        if rank is None:
            return False
        return request.method in SAFE_METHODS or rank > 0


class _WritesNeedRank(IsBusinessMember):
    min_rank = ROLE_RANK[Role.OWNER]

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS:
            return True
        rank = request_rank(request)
        return rank is not None and rank >= self.min_rank


class FrontDeskWrites(_WritesNeedRank):
    """Everyone reads; receptionists and above write (clients, appointments)."""

    min_rank = ROLE_RANK[Role.RECEPTIONIST]


class AdminWrites(_WritesNeedRank):
    """Everyone reads; admins and owners write (services, staff, hours, locations)."""

    min_rank = ROLE_RANK[Role.ADMIN]


class AdminOnly(IsBusinessMember):
    """Admins, owners and admin keys only, even to read (a client's personal data export)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if getattr(request._request, "tenant", None) is None:
            return False
        rank = request_rank(request)
        return rank is not None and rank >= ROLE_RANK[Role.ADMIN]


class FrontDeskReads(IsBusinessMember):
    """The business's keys, and members from the front desk up: providers see their own
    schedule, not the business's figures nor what clients said of their colleagues."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if getattr(request, "auth", None) is not None:
            return True
        rank = request_rank(request)
        return rank is not None and rank >= ROLE_RANK[Role.RECEPTIONIST]
