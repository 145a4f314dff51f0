"""The business (tenant), its locations, users, memberships and roles, API keys, and request scoping."""
