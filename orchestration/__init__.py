"""Dagster code location: every box of the platform is an asset; see definitions.py."""
