"""Marts → the Feast feature store: source exports, `feast apply`, materialisation."""
