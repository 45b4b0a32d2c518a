"""Marts → features (Feast) and models (MLflow): training assets, retraining and pricing schedules."""
