"""Alembic migrations of the memory schema (shipped inside the package)."""
