"""The FastAPI serving layer."""
