"""The admin's settings pages (/settings/): owners and admins only, every write through a service."""
