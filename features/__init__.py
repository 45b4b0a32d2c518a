"""Feast feature repository (issue 3)."""
