"""Marts → models (MLflow): one training asset per model, retraining jobs, the 02:00 schedule."""
