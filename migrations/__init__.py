"""Alembic migrations (raw SQL). Not imported by the service at run time."""
