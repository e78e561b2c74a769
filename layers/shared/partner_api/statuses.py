"""Lifecycle states shared by clients and partners."""

STATUSES = ("active", "inactive", "suspended", "deleted")
LIVE_STATUSES = ("active", "inactive", "suspended")
