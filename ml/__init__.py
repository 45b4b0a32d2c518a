"""The models: one module each (training, evaluation against a baseline, and the public
methods its callers use), the catalogue of models, and the MLflow registry with the
champion gate. Imports base, lake and features; never Dagster or FastAPI."""
