"""Dagster code location: every box of the platform is an asset. One folder per domain
(ingest, warehouse, feature_store, models, pricing, maintenance) with its assets, jobs,
schedules and sensors; `definitions.py` merges them with the resources."""
